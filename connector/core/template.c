/*
 * The template engine of the mapping's reference and description templates:
 * {placeholder}s of the order, {{ and }} for braces, lines whose placeholders
 * are all empty left out, output tidied. Pure; the output is capped.
 */
#include "template.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

/* A growable text with a hard cap. */
struct text_buffer {
	char *data;
	size_t length;
	size_t capacity;
	bool too_big;
	bool out_of_memory;
};

static void buffer_append(struct text_buffer *buffer, const char *text, size_t length)
{
	size_t needed;

	if (buffer->too_big || buffer->out_of_memory)
		return;
	needed = buffer->length + length + 1;
	if (needed > TEMPLATE_RENDER_MAX_BYTES) {
		buffer->too_big = true;
		return;
	}
	if (needed > buffer->capacity) {
		size_t capacity = buffer->capacity == 0 ? 256 : buffer->capacity;
		char *grown;

		while (capacity < needed)
			capacity *= 2;
		grown = realloc(buffer->data, capacity);
		if (grown == NULL) {
			buffer->out_of_memory = true;
			return;
		}
		buffer->data = grown;
		buffer->capacity = capacity;
	}
	memcpy(buffer->data + buffer->length, text, length);
	buffer->length += length;
	buffer->data[buffer->length] = '\0';
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
			if (scratch->length > 0)
				buffer_add(scratch, "\n");
			if (!text_blank(field->label)) {
				buffer_add(scratch, field->label);
				buffer_add(scratch, ": ");
			}
			buffer_add(scratch, field->value);
		}
		return scratch->data != NULL ? scratch->data : "";
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
			struct text_buffer scratch = {0};
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
			free(scratch.data);
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
			if (out->length > 0)
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
	struct text_buffer raw = {0};
	struct text_buffer tidy = {0};
	const char *line = template;
	char *result = NULL;

	*too_big = false;
	while (line != NULL) {
		const char *newline = strchr(line, '\n');
		size_t length = newline != NULL ? (size_t)(newline - line) : strlen(line);
		struct text_buffer rendered = {0};
		bool had_placeholder;
		bool had_value;

		render_line(order, line, length, &rendered, &had_placeholder, &had_value);
		if (rendered.too_big)
			raw.too_big = true;
		if (rendered.out_of_memory)
			raw.out_of_memory = true;
		if (rendered.data != NULL && (!had_placeholder || had_value)) {
			if (raw.length > 0)
				buffer_add(&raw, "\n");
			buffer_add(&raw, rendered.data);
		}
		free(rendered.data);
		line = newline != NULL ? newline + 1 : NULL;
	}
	if (raw.too_big || raw.out_of_memory)
		goto out;
	tidy_lines(raw.data != NULL ? raw.data : "", &tidy);
	if (tidy.too_big || tidy.out_of_memory)
		goto out;
	result = tidy.data != NULL ? tidy.data : strdup("");
	tidy.data = NULL;
out:
	*too_big = raw.too_big || tidy.too_big;
	free(raw.data);
	free(tidy.data);
	return result;
}
