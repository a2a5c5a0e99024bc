/*
 * hyporank/events.h: how long library calls tell their caller what they are
 * doing. The library never prints: a pipeline (describe, rank, explain) and
 * the embedder send events to a callback, and the caller shows them as it
 * likes (the hyporank program draws progress bars and prints notes on
 * standard error).
 *
 *     static void show(const hr_event *ev, void *user)
 *     {
 *         if (ev->kind == HR_EVENT_NOTE || ev->kind == HR_EVENT_INFO)
 *             fprintf(stderr, "hyporank: %s\n", ev->text);
 *     }
 *     hr_events ev = {show, NULL, NULL};
 *     hr_embedder_embed(e, texts, NULL, n, "embedding A", &ev, &emb, err, sizeof err);
 *
 * Events come on the calling thread, in order: a step's BEGIN, any number of
 * PROGRESS, its END; INFO and NOTE between steps. A BEGIN's label stays
 * valid until its END; other strings during the callback only.
 *
 * A caller that wants to stop a long call (a binding that checks for Ctrl-C,
 * a server whose client went away) sets cancel: it is asked on the calling
 * thread between batches of embedding (the local encoder's: a fraction of a
 * second of work on the CPU, less on a GPU; a remote endpoint's call is
 * asked once, before it starts), and when it returns non-zero the call stops
 * there and returns HR_ERR_CANCELLED. What was finished stays in the cache;
 * nothing half-done is returned.
 */
#ifndef HYPORANK_EVENTS_H
#define HYPORANK_EVENTS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_event_kind {
    HR_EVENT_BEGIN = 0, /* a long step begins: text is its label ("embedding A"), total its size */
    HR_EVENT_PROGRESS,  /* done of total items of the step under way */
    HR_EVENT_END,       /* the step under way ended (successfully or not) */
    HR_EVENT_INFO,      /* a line about the run ("probe on 500 + 500 proposal texts: ...");
                           a quiet caller may drop it */
    HR_EVENT_NOTE       /* a line the user should read whatever the verbosity: something
                           about the input ("note: a.txt:7 repeats hypothesis 2 ...") */
} hr_event_kind;

typedef struct hr_event {
    hr_event_kind kind;
    const char *text; /* BEGIN: the label; INFO, NOTE: one line without a line break */
    size_t done;      /* PROGRESS: items done so far */
    size_t total;     /* BEGIN, PROGRESS: items of the step */
} hr_event;

typedef void (*hr_event_fn)(const hr_event *ev, void *user);
/* Non-zero: stop the call under way (see above). */
typedef int (*hr_cancel_fn)(void *user);

/* Where events go. A NULL hr_events pointer or a NULL fn drops them; a NULL
 * cancel never stops. fn and cancel both get user. */
typedef struct hr_events {
    hr_event_fn fn;
    void *user;
    hr_cancel_fn cancel;
} hr_events;

#ifdef __cplusplus
}
#endif

#endif
