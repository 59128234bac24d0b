/*
 * Secret values: a literal (only in a file group and others cannot read),
 * "env:NAME" or "file:/path" (not world-readable). Resolved at load time;
 * a value never reaches a message.
 */
#include "config_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_SECRET_MAX_BYTES 4096

static int env_name_ok(const char *name)
{
	size_t i;

	if (name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 0;
	}
	return 1;
}

void config_secret_free(char *secret)
{
	if (secret == NULL)
		return;
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* Reads a "file:" secret; NULL after reporting. The value never reaches a message. */
static char *secret_read_file(struct loader *ld, const config_setting_t *at, const char *key,
                              const char *path)
{
	char buffer[CONFIG_SECRET_MAX_BYTES + 2];
	char *secret = NULL;
	size_t length = 0;
	struct stat info;
	int fd;

	if (path[0] == '\0') {
		config_problem(
		    ld, at, "secret `%s` says file: but names no file; write \"file:/path\"", key);
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		config_problem(
		    ld, at,
		    "secret `%s` refers to file %s, which cannot be read (%s); fix the path or "
		    "its permissions",
		    key, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
		config_problem(ld, at, "secret `%s` refers to %s, which is not a regular file", key,
		               path);
		goto out;
	}
	if ((info.st_mode & S_IROTH) != 0) {
		config_problem(
		    ld, at,
		    "secret `%s` refers to file %s, which every user can read; run chmod o-rwx %s",
		    key, path, path);
		goto out;
	}
	while (length < sizeof(buffer)) {
		ssize_t got = read(fd, buffer + length, sizeof(buffer) - length);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			config_problem(ld, at,
			               "secret `%s` refers to file %s, which cannot be read (%s)",
			               key, path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		length += (size_t)got;
	}
	/* One trailing newline is what editors and `echo` add; it is not part of the secret. */
	if (length > 0 && buffer[length - 1] == '\n') {
		length--;
		if (length > 0 && buffer[length - 1] == '\r')
			length--;
	}
	if (length > CONFIG_SECRET_MAX_BYTES) {
		config_problem(ld, at, "secret `%s` in file %s is longer than %d bytes", key, path,
		               CONFIG_SECRET_MAX_BYTES);
		goto out;
	}
	if (memchr(buffer, '\0', length) != NULL) {
		config_problem(ld, at, "secret `%s` in file %s contains a NUL byte", key, path);
		goto out;
	}
	if (length == 0) {
		config_problem(
		    ld, at, "secret `%s` refers to file %s, which is empty; put the secret in it",
		    key, path);
		goto out;
	}
	secret = text_copy_n(buffer, length, &ld->out_of_memory);
out:
	explicit_bzero(buffer, sizeof(buffer));
	close(fd);
	return secret;
}

/*
 * A literal secret may only sit in a file that group and others cannot
 * read: reported once per file, with the command that fixes it.
 */
static void literal_secret_check(struct loader *ld, const config_setting_t *at, const char *key)
{
	const char *file = config_setting_source_file(at);
	struct stat info;

	if (file == NULL || stat(file, &info) != 0 || (info.st_mode & (S_IRGRP | S_IROTH)) == 0)
		return;
	for (size_t i = 0; i < ld->exposed_count; i++)
		if (strcmp(ld->exposed[i], file) == 0)
			return;
	if (ld->exposed_count < CONFIG_OVERSIZED_MAX)
		ld->exposed[ld->exposed_count++] = file;
	config_problem(
	    ld, at,
	    "secret `%s` is written in %s, which group or others can read: run `chmod 600 %s`"
	    " (or give the secret as \"env:NAME\" or \"file:/path\")",
	    key, file, file);
}

/* Resolves a literal, "env:NAME" or "file:/path" secret; NULL after reporting. */
char *config_secret_resolve(struct loader *ld, const config_setting_t *at, const char *key,
                            const char *spec)
{
	if (strncmp(spec, "env:", 4) == 0) {
		const char *name = spec + 4;
		const char *value;

		if (!env_name_ok(name)) {
			config_problem(
			    ld, at,
			    "secret `%s` says env: but `%s` is not an environment variable name; "
			    "write \"env:NAME\"",
			    key, name);
			return NULL;
		}
		value = getenv(name);
		if (value == NULL) {
			config_problem(
			    ld, at,
			    "secret `%s` refers to environment variable %s, which is not set", key,
			    name);
			return NULL;
		}
		if (value[0] == '\0') {
			config_problem(
			    ld, at, "secret `%s` refers to environment variable %s, which is empty",
			    key, name);
			return NULL;
		}
		if (strlen(value) > CONFIG_SECRET_MAX_BYTES) {
			config_problem(
			    ld, at,
			    "secret `%s` in environment variable %s is longer than %d bytes", key,
			    name, CONFIG_SECRET_MAX_BYTES);
			return NULL;
		}
		return config_strdup(ld, value);
	}
	if (strncmp(spec, "file:", 5) == 0)
		return secret_read_file(ld, at, key, spec + 5);
	if (spec[0] == '\0') {
		config_problem(ld, at,
		               "secret `%s` is empty; set a value, \"env:NAME\" or \"file:/path\"",
		               key);
		return NULL;
	}
	if (strlen(spec) > CONFIG_SECRET_MAX_BYTES) {
		config_problem(ld, at, "secret `%s` is longer than %d bytes", key,
		               CONFIG_SECRET_MAX_BYTES);
		return NULL;
	}
	literal_secret_check(ld, at, key);
	return config_strdup(ld, spec);
}
