#include "spool.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define SPOOL_SUFFIX ".delivery"
#define SPOOL_HEADER_MAX 1024
#define SPOOL_BODY_MAX (64L * 1024 * 1024)

static int make_dir(const char *dir, struct cn_error *err)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return CN_OK;
	error_set(err, "cannot create spool folder %s: %s", dir, strerror(errno));
	return CN_ERR;
}

int spool_check_dir(const char *dir, struct cn_error *err)
{
	struct stat info;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		error_set(err, "cannot create spool.dir %s: %s", dir, strerror(errno));
		return CN_ERR;
	}
	if (lstat(dir, &info) != 0) {
		error_set(err, "cannot read spool.dir %s: %s", dir, strerror(errno));
		return CN_ERR;
	}
	if (!S_ISDIR(info.st_mode)) {
		error_set(err, "spool.dir %s is not a folder: point spool.dir at a folder", dir);
		return CN_INVALID;
	}
	if (info.st_uid != geteuid()) {
		error_set(err,
		          "spool.dir %s is owned by uid %u, not by the user serve runs as (uid "
		          "%u): run `chown %u %s`",
		          dir, (unsigned)info.st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
		          dir);
		return CN_INVALID;
	}
	if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		error_set(err, "spool.dir %s is writable by %s: run `chmod 700 %s`", dir,
		          (info.st_mode & S_IWOTH) != 0 ? "everyone" : "its group", dir);
		return CN_INVALID;
	}
	return CN_OK;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* The header is one JSON line; the raw body follows byte for byte. */
static char *header_line(const struct spool_entry *entry)
{
	cJSON *header = cJSON_CreateObject();
	char *text = NULL;

	if (header == NULL)
		return NULL;
	cJSON_AddNumberToObject(header, "version", 2);
	cJSON_AddStringToObject(header, "connection", entry->connection_name);
	cJSON_AddStringToObject(header, "delivery_key", entry->delivery_key);
	cJSON_AddStringToObject(header, "source", entry->source);
	cJSON_AddNumberToObject(header, "received_at_ms", (double)entry->received_at_ms);
	cJSON_AddNumberToObject(header, "signature_timestamp", (double)entry->signature_timestamp);
	cJSON_AddStringToObject(header, "timestamp_header", entry->timestamp_header);
	cJSON_AddStringToObject(header, "signature_header", entry->signature_header);
	text = cJSON_PrintUnformatted(header);
	cJSON_Delete(header);
	return text;
}

int spool_write(const char *dir, const struct spool_entry *entry, struct cn_error *err)
{
	static atomic_ullong sequence;
	char tmp_path[4096], final_path[4096];
	char *header = NULL;
	int fd = -1;
	int rc = CN_ERR;

	if (make_dir(dir, err) != CN_OK)
		return CN_ERR;
	/* The same delivery may be spooled twice at once (an exact replay):
	 * each write has a temporary name of its own. */
	snprintf(tmp_path, sizeof(tmp_path), "%s/.tmp-%s-%ld-%llu", dir, entry->delivery_key,
	         (long)getpid(), atomic_fetch_add(&sequence, 1));
	snprintf(final_path, sizeof(final_path), "%s/%013" PRId64 "-%s" SPOOL_SUFFIX, dir,
	         entry->received_at_ms, entry->delivery_key);
	header = header_line(entry);
	if (header == NULL) {
		error_set(err, "out of memory writing the spool header");
		goto out;
	}
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		error_set(err, "cannot create spool file in %s: %s", dir, strerror(errno));
		goto out;
	}
	if (write_all(fd, header, strlen(header)) != 0 || write_all(fd, "\n", 1) != 0 ||
	    write_all(fd, entry->body, entry->body_len) != 0 || fsync(fd) != 0) {
		error_set(err, "cannot write spool file in %s: %s", dir, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		error_set(err, "cannot close spool file in %s: %s", dir, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp_path, final_path) != 0 || fsync_dir(dir) != 0) {
		error_set(err, "cannot commit spool file in %s: %s", dir, strerror(errno));
		goto out;
	}
	rc = CN_OK;
out:
	if (fd >= 0)
		close(fd);
	if (rc != CN_OK)
		unlink(tmp_path);
	free(header);
	return rc;
}

static int read_file(const char *path, char **data_out, size_t *len_out)
{
	FILE *file = fopen(path, "rb");
	char *data = NULL;
	long size;

	if (file == NULL)
		return -1;
	if (fseek(file, 0, SEEK_END) != 0 || (size = ftell(file)) < 0 || size > SPOOL_BODY_MAX ||
	    fseek(file, 0, SEEK_SET) != 0)
		goto fail;
	data = malloc((size_t)size + 1);
	if (data == NULL || fread(data, 1, (size_t)size, file) != (size_t)size)
		goto fail;
	data[size] = '\0';
	fclose(file);
	*data_out = data;
	*len_out = (size_t)size;
	return 0;
fail:
	free(data);
	fclose(file);
	return -1;
}

static void copy_string(char *dst, size_t size, const cJSON *item)
{
	snprintf(dst, size, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

/* Parses a spool file into entry (entry->body owned). -1 when malformed. */
static int parse_entry(char *data, size_t len, struct spool_entry *entry)
{
	char *newline = memchr(data, '\n', len < SPOOL_HEADER_MAX ? len : SPOOL_HEADER_MAX);
	cJSON *header;
	size_t header_len;
	int rc = -1;

	if (newline == NULL)
		return -1;
	header_len = (size_t)(newline - data);
	header = cJSON_ParseWithLength(data, header_len);
	if (header == NULL)
		return -1;
	copy_string(entry->connection_name, sizeof(entry->connection_name),
	            cJSON_GetObjectItemCaseSensitive(header, "connection"));
	copy_string(entry->delivery_key, sizeof(entry->delivery_key),
	            cJSON_GetObjectItemCaseSensitive(header, "delivery_key"));
	copy_string(entry->source, sizeof(entry->source),
	            cJSON_GetObjectItemCaseSensitive(header, "source"));
	copy_string(entry->timestamp_header, sizeof(entry->timestamp_header),
	            cJSON_GetObjectItemCaseSensitive(header, "timestamp_header"));
	copy_string(entry->signature_header, sizeof(entry->signature_header),
	            cJSON_GetObjectItemCaseSensitive(header, "signature_header"));
	entry->received_at_ms = (int64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(header, "received_at_ms"));
	entry->signature_timestamp = (int64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(header, "signature_timestamp"));
	if (entry->connection_name[0] != '\0' && entry->delivery_key[0] != '\0') {
		entry->body_len = len - header_len - 1;
		entry->body = malloc(entry->body_len + 1);
		if (entry->body != NULL) {
			memcpy(entry->body, newline + 1, entry->body_len);
			entry->body[entry->body_len] = '\0';
			rc = 0;
		}
	}
	cJSON_Delete(header);
	return rc;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the committed spool files; the caller frees each and the array. */
static int list_entries(const char *dir, char ***names_out, size_t *count_out)
{
	DIR *handle = opendir(dir);
	struct dirent *item;
	char **names = NULL;
	size_t count = 0, capacity = 0;

	*names_out = NULL;
	*count_out = 0;
	if (handle == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((item = readdir(handle)) != NULL) {
		size_t len = strlen(item->d_name);

		if (item->d_name[0] == '.' || len <= strlen(SPOOL_SUFFIX) ||
		    strcmp(item->d_name + len - strlen(SPOOL_SUFFIX), SPOOL_SUFFIX) != 0)
			continue;
		if (count == capacity) {
			size_t new_capacity = capacity == 0 ? 16 : capacity * 2;
			char **grown = realloc(names, new_capacity * sizeof(*names));
			if (grown == NULL)
				break;
			names = grown;
			capacity = new_capacity;
		}
		names[count] = strdup(item->d_name);
		if (names[count] == NULL)
			break;
		count++;
	}
	closedir(handle);
	if (count > 0)
		qsort(names, count, sizeof(*names), compare_names);
	*names_out = names;
	*count_out = count;
	return 0;
}

size_t spool_count(const char *dir)
{
	char **names;
	size_t count;

	if (list_entries(dir, &names, &count) != 0)
		return 0;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return count;
}

size_t spool_rejected_count(const char *dir)
{
	char rejected_dir[4096];
	DIR *handle;
	struct dirent *item;
	size_t count = 0;

	snprintf(rejected_dir, sizeof(rejected_dir), "%s/rejected", dir);
	handle = opendir(rejected_dir);
	if (handle == NULL)
		return 0;
	while ((item = readdir(handle)) != NULL)
		if (item->d_name[0] != '.')
			count++;
	closedir(handle);
	return count;
}

/* Moves a file a drain must not store into dir/rejected/, for a person. */
static bool set_aside(const char *dir, const char *name, const char *reason)
{
	char rejected_dir[4096], from[4096], to[4096];

	snprintf(rejected_dir, sizeof(rejected_dir), "%s/rejected", dir);
	(void)mkdir(rejected_dir, 0700);
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s", rejected_dir, name);
	if (rename(from, to) != 0) {
		log_error("spool_file_not_set_aside", "file", from, "reason", reason, "error",
		          strerror(errno), NULL);
		return false;
	}
	log_warn("spool_file_set_aside", "file", to, "reason", reason, NULL);
	return true;
}

int spool_drain(const char *dir, spool_store_fn store, void *arg, size_t *drained_out,
                size_t *set_aside_out, struct cn_error *err)
{
	char **names = NULL;
	size_t count = 0;
	size_t drained = 0, set_aside_count = 0;
	int rc = CN_OK;

	*drained_out = 0;
	*set_aside_out = 0;
	if (list_entries(dir, &names, &count) != 0) {
		error_set(err, "cannot read spool folder %s: %s", dir, strerror(errno));
		return CN_ERR;
	}
	for (size_t i = 0; i < count; i++) {
		char path[4096];
		char *data = NULL;
		size_t len = 0;
		struct spool_entry entry;
		struct cn_error store_err = {""};
		int stored;

		memset(&entry, 0, sizeof(entry));
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (read_file(path, &data, &len) != 0) {
			set_aside_count += set_aside(dir, names[i], "the file cannot be read");
			continue;
		}
		if (parse_entry(data, len, &entry) != 0) {
			free(data);
			set_aside_count +=
			    set_aside(dir, names[i], "the file is not a spooled delivery");
			continue;
		}
		free(data);
		stored = store(arg, &entry, &store_err);
		free(entry.body);
		if (stored == CN_OK) {
			if (unlink(path) != 0) {
				error_set(err, "cannot remove drained spool file %s: %s", path,
				          strerror(errno));
				rc = CN_ERR;
				break;
			}
			drained++;
		} else if (stored == CN_INVALID) {
			set_aside_count += set_aside(dir, names[i], store_err.message);
		} else if (stored == CN_ERR) {
			/* The database answered but did not take this one: keep it
			 * for the next drain, and go on with the others. */
			log_warn("spool_file_not_stored", "file", path, "error", store_err.message,
			         NULL);
		} else {
			rc = CN_RETRYABLE;
			if (err != NULL)
				*err = store_err;
			break;
		}
	}
	if (drained > 0 || set_aside_count > 0)
		(void)fsync_dir(dir);
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	*drained_out = drained;
	*set_aside_out = set_aside_count;
	return rc;
}
