/*
 * host/net/prices.c: the built-in price table for cost estimates
 * (hr_llm_builtin_price in hyporank/llm.h).
 *
 * US dollars per million tokens, prompt and completion, from the providers'
 * public list prices (standard tier, no batch or cache discounts) as of
 * 2025. They change; a user who needs exact figures gives --llm-price, and
 * every report marks which prices it used.
 */
#include "hyporank/llm.h"

#include <string.h>

typedef struct price {
    const char *name; /* the model, or the start of its dated names */
    double prompt, completion;
} price;

static const price table[] = {
    {"gpt-4o-mini", 0.15, 0.60},
    {"gpt-4o", 2.50, 10.00},
    {"gpt-4.1-nano", 0.10, 0.40},
    {"gpt-4.1-mini", 0.40, 1.60},
    {"gpt-4.1", 2.00, 8.00},
    {"gpt-4-turbo", 10.00, 30.00},
    {"gpt-3.5-turbo", 0.50, 1.50},
    {"o3-mini", 1.10, 4.40},
    {"o4-mini", 1.10, 4.40},
    {"claude-3-5-haiku", 0.80, 4.00},
    {"claude-3-haiku", 0.25, 1.25},
    {"claude-3-5-sonnet", 3.00, 15.00},
    {"claude-sonnet-4", 3.00, 15.00},
    {"gemini-2.0-flash", 0.10, 0.40},
    {"gemini-1.5-flash", 0.075, 0.30},
    {"deepseek-chat", 0.27, 1.10},
};

const char *hr_llm_builtin_price(const char *model, double *usd_per_mtok_prompt,
                                 double *usd_per_mtok_completion)
{
    const price *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; model && i < sizeof table / sizeof table[0]; i++) {
        const size_t len = strlen(table[i].name);
        if (len > best_len && strncmp(model, table[i].name, len) == 0)
            best = &table[i], best_len = len;
    }
    if (!best)
        return NULL;
    if (usd_per_mtok_prompt)
        *usd_per_mtok_prompt = best->prompt;
    if (usd_per_mtok_completion)
        *usd_per_mtok_completion = best->completion;
    return best->name;
}
