/*
 * The template engine (template.c) of the mapping's invoice reference and
 * description templates. Placeholders: {product_name}, {product_description},
 * {order_number}, {order_id}, {custom_fields}; "{{" and "}}" are braces.
 */
#ifndef BM_TEMPLATE_H
#define BM_TEMPLATE_H

#include <stdbool.h>

#include "bookto.h"

#define TEMPLATE_RENDER_MAX_BYTES (256 * 1024)

/*
 * Renders a template: a template line whose placeholders are all empty is
 * left out entirely (no "Description: " without a description), and so is
 * any line that ends up blank. Returns the text (caller frees), or NULL:
 * *too_big when the result passed TEMPLATE_RENDER_MAX_BYTES, else out of
 * memory.
 */
char *template_render(const struct bookto_order *order, const char *template, bool *too_big);

#endif
