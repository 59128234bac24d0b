/*
 * The template engine of the mapping's reference and description templates:
 * {placeholder}s of the order, {{ and }} for braces, lines whose placeholders
 * are all empty left out, output tidied. Pure; the output is capped.
 */
#include "template.h"

#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "text.h"

/* A growable text with a hard cap. */
struct text_buffer {
	struct dynbuf text; /* capped at TEMPLATE_RENDER_MAX_BYTES - 1 plus the NUL */
	bool too_big;
	bool out_of_memory;
};

#define TEXT_BUFFER_INIT                                                                           \
	{                                                                                          \
		{NULL, 0, 0, TEMPLATE_RENDER_MAX_BYTES - 1}, false, false                          \
	}

static void buffer_append(struct text_buffer *buffer, const char *text, size_t length)
{
	int status;

	if (buffer->too_big || buffer->out_of_memory)
		return;
	status = dynbuf_add(&buffer->text, text, length);
	if (status == CN_INVALID)
		buffer->too_big = true;
	else if (status != CN_OK)
		buffer->out_of_memory = true;
}

static void buffer_add(struct text_buffer *buffer, const char *text)
{
	buffer_append(buffer, text, strlen(text));
}

/* The value of one placeholder; custom_fields renders into `scratch`. */
static const char *placeholder_value(const struct bookto_order *order, const char *name,
                                     size_t length, struct text_buffer *scratch)
{
	size_t i;

#define PLACEHOLDER_IS(literal) (length == strlen(literal) && strncmp(name, literal, length) == 0)
	if (PLACEHOLDER_IS("product_name"))
		return order->product_name;
	if (PLACEHOLDER_IS("product_description"))
		return order->product_description;
	if (PLACEHOLDER_IS("order_number"))
		return order->order_number;
	if (PLACEHOLDER_IS("order_id"))
		return order->order_id;
	if (PLACEHOLDER_IS("custom_fields")) {
		for (i = 0; i < order->custom_field_count; i++) {
			const struct bookto_custom_field *field = &order->custom_fields[i];

			if (text_blank(field->value))
				continue;
			if (scratch->text.len > 0)
				buffer_add(scratch, "\n");
			if (!text_blank(field->label)) {
				buffer_add(scratch, field->label);
				buffer_add(scratch, ": ");
			}
			buffer_add(scratch, field->value);
		}
		return dynbuf_ptr(&scratch->text);
	}
#undef PLACEHOLDER_IS
	return ""; /* the mapping loader allows only the names above */
}

/*
 * Renders one template line (no '\n' in it) into out. *had_placeholder and
 * *had_value say whether it used placeholders and whether any was non-empty.
 */
static void render_line(const struct bookto_order *order, const char *line, size_t line_length,
                        struct text_buffer *out, bool *had_placeholder, bool *had_value)
{
	size_t i = 0;

	*had_placeholder = false;
	*had_value = false;
	while (i < line_length) {
		const char *close;

		if ((line[i] == '{' || line[i] == '}') && i + 1 < line_length &&
		    line[i + 1] == line[i]) {
			buffer_append(out, line + i, 1);
			i += 2;
			continue;
		}
		close = line[i] == '{' ? memchr(line + i, '}', line_length - i) : NULL;
		if (close != NULL) {
			struct text_buffer scratch = TEXT_BUFFER_INIT;
			size_t name_length = (size_t)(close - (line + i + 1));
			const char *value =
			    placeholder_value(order, line + i + 1, name_length, &scratch);

			*had_placeholder = true;
			if (value != NULL && !text_blank(value)) {
				*had_value = true;
				buffer_add(out, value);
			}
			if (scratch.too_big)
				out->too_big = true;
			if (scratch.out_of_memory)
				out->out_of_memory = true;
			dynbuf_free(&scratch.text);
			i += name_length + 2;
			continue;
		}
		buffer_append(out, line + i, 1);
		i++;
	}
}

/*
 * Output cleanup: control characters become spaces, each line loses its
 * trailing whitespace, and blank lines are dropped, so empty parts leave no
 * gaps behind.
 */
static void tidy_lines(const char *text, struct text_buffer *out)
{
	const char *line = text;

	while (*line != '\0') {
		const char *newline = strchr(line, '\n');
		size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
		size_t i;
		char *copy = strndup(line, length);

		if (copy == NULL) {
			out->out_of_memory = true;
			return;
		}
		for (i = 0; i < length; i++)
			if ((unsigned char)copy[i] < 0x20 || copy[i] == 0x7f)
				copy[i] = ' ';
		while (length > 0 && copy[length - 1] == ' ')
			length--;
		copy[length] = '\0';
		if (!text_blank(copy)) {
			if (out->text.len > 0)
				buffer_add(out, "\n");
			buffer_add(out, copy);
		}
		free(copy);
		if (newline == NULL)
			break;
		line = newline + 1;
	}
}

/*
 * Renders a template: a template line whose placeholders are all empty is
 * left out entirely (no "Description: " without a description), and so is
 * any line that ends up blank. Returns the text (caller frees), or NULL:
 * *too_big when the result passed the render cap, else out of memory.
 */
char *template_render(const struct bookto_order *order, const char *template, bool *too_big)
{
	struct text_buffer raw = TEXT_BUFFER_INIT;
	struct text_buffer tidy = TEXT_BUFFER_INIT;
	const char *line = template;
	char *result = NULL;

	*too_big = false;
	while (line != NULL) {
		const char *newline = strchr(line, '\n');
		size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
		struct text_buffer rendered = TEXT_BUFFER_INIT;
		bool had_placeholder;
		bool had_value;

		render_line(order, line, length, &rendered, &had_placeholder, &had_value);
		if (rendered.too_big)
			raw.too_big = true;
		if (rendered.out_of_memory)
			raw.out_of_memory = true;
		if (rendered.text.data != NULL && (!had_placeholder || had_value)) {
			if (raw.text.len > 0)
				buffer_add(&raw, "\n");
			buffer_add(&raw, rendered.text.data);
		}
		dynbuf_free(&rendered.text);
		line = newline != NULL ? newline + 1 : NULL;
	}
	if (raw.too_big || raw.out_of_memory)
		goto out;
	tidy_lines(dynbuf_ptr(&raw.text), &tidy);
	if (tidy.too_big || tidy.out_of_memory)
		goto out;
	result = dynbuf_take(&tidy.text);
out:
	*too_big = raw.too_big || tidy.too_big;
	dynbuf_free(&raw.text);
	dynbuf_free(&tidy.text);
	return result;
}
