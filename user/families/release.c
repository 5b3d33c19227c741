/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Why these parts identify a release: a deploy either builds a new program
 * (a new GNU build id, which a copied or renamed binary keeps and a rebuilt
 * one changes), or ships new interpreted code: a new image, a git checkout
 * (a new HEAD) or files copied over. Code is identified by its contents,
 * not by mtimes: files copied again unchanged, or an image rebuilt from the
 * same sources, are the same release. All of it is read once per exec of a
 * watched process, which is rare; nothing is read per request.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "contract/common_abi.h"
#include "families/release.h"
#include "pg/elfnote.h"

#define FILE_BYTES	(1u << 20)	/* read of each code file */
#define TREE_FILES	1024		/* code files read around a script */
#define GIT_LEVELS	4		/* directories searched upwards for .git */
#define BUILD_CACHE	256		/* executables whose build id is remembered */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = fnv64__byte(h, ((const unsigned char *)p)[i]);
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s, strlen(s) + 1);
}

/* path as this process can open it: relative ones through the exec'ing
 * process's cwd, while it lives. 0, or -1 if it cannot be resolved. */
static int resolve(uint32_t pid, const char *path, char *out, size_t len)
{
	if (!path || !path[0])
		return -1;
	if (path[0] == '/')
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
	if (!pid)
		return -1;
	return snprintf(out, len, "/proc/%u/cwd/%s", pid, path) < (int)len ? 0 : -1;
}

static int same_file(const struct stat *st, const struct release_src *s)
{
	return st->st_ino == s->ino && major(st->st_dev) == s->dev >> 20 &&
	       minor(st->st_dev) == (s->dev & 0xfffff);
}

/* The executable's build id, if the file exec ran can still be opened. */
static int exe_build_id(const struct release_src *s, char *out, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	if (s->pid) {
		snprintf(path, sizeof(path), "/proc/%u/exe", s->pid);
		if (!stat(path, &st) && same_file(&st, s) && elfnote__build_id(path, out, len) > 0)
			return 1;
	}
	return !resolve(s->pid, s->interp, path, sizeof(path)) && !stat(path, &st) &&
	       same_file(&st, s) && elfnote__build_id(path, out, len) > 0;
}

/*
 * Build ids by file identity: a file with the same device, inode, size and
 * mtime has the same contents, so a program started again (a crash loop, a
 * busy supervisor, every python of a node) costs no libelf read. Read
 * anew, the id cost ~11 syscalls per exec (bench/RESULTS.md, run EV-1).
 */
static struct build_entry {
	uint64_t ino, size;
	int64_t mtime_sec;
	uint32_t mtime_nsec, dev;
	int has;		/* 0: none; 1: id */
	char id[2 * 64 + 1];
} build_cache[BUILD_CACHE];

static int cached_build_id(const struct release_src *s, char *out, size_t len)
{
	uint64_t key[4] = { s->ino, s->size, (uint64_t)s->mtime_sec, (uint64_t)s->dev << 32 | s->mtime_nsec };
	struct build_entry *e = &build_cache[fnv(FNV64_INIT, key, sizeof(key)) % BUILD_CACHE];

	if (s->ino && e->ino == s->ino && e->dev == s->dev && e->size == s->size &&
	    e->mtime_sec == s->mtime_sec && e->mtime_nsec == s->mtime_nsec) {
		snprintf(out, len, "%s", e->id);
		return e->has;
	}
	if (!exe_build_id(s, out, len)) {
		out[0] = '\0';
		return 0;	/* not kept: the file may have been out of reach */
	}
	*e = (struct build_entry){ .ino = s->ino, .size = s->size, .mtime_sec = s->mtime_sec,
				   .mtime_nsec = s->mtime_nsec, .dev = s->dev, .has = 1 };
	snprintf(e->id, sizeof(e->id), "%s", out);
	return 1;
}

static int is_interpreter(const char *path)
{
	static const char *const names[] = { "python", "perl", "ruby", "node", "nodejs", "php",
					     "bash", "sh", "dash" };
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strlen(base);

	while (n && (base[n - 1] == '.' || (base[n - 1] >= '0' && base[n - 1] <= '9')))
		n--;	/* python3.11 */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !strncmp(base, names[i], n))
			return 1;
	return 0;
}

const char *release__script(const struct release_src *s, const char **module)
{
	const char *a = s->args, *end = s->args + s->args_len;
	int first = 1;

	*module = NULL;
	if (!s->filename || !s->interp)
		return NULL;
	if (strcmp(s->filename, s->interp))
		return s->filename;
	if (!is_interpreter(s->filename))
		return NULL;
	/* each argument, while one ends inside args */
	for (const char *next; a < end && (next = memchr(a, '\0', end - a)); a = next + 1) {
		if (first) {
			first = 0;	/* argv[0] */
			continue;
		}
		if (!strcmp(a, "-m") || !strcmp(a, "-c") || !strcmp(a, "-e")) {
			a = next + 1;
			*module = a < end && memchr(a, '\0', end - a) ? a : NULL;
			return NULL;
		}
		if (!strcmp(a, "-W") || !strcmp(a, "-X")) {
			if (next + 1 < end && (next = memchr(next + 1, '\0', end - next - 1)))
				continue;	/* skipped the option's value */
			return NULL;
		}
		if (a[0] != '-')
			return a;
	}
	return NULL;
}

static uint64_t hash_file(uint64_t h, const char *path)
{
	static char buf[65536];
	size_t total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fnv_str(h, path);	/* gone: its name at least */
	while (total < FILE_BYTES && (n = read(fd, buf, sizeof(buf))) > 0) {
		h = fnv(h, buf, n);
		total += n;
	}
	close(fd);
	return h;
}

static int is_code(const char *name)
{
	static const char *const ext[] = { "py", "pyx", "so", "pl", "pm", "rb", "js", "mjs",
					   "cjs", "php", "sh", "xml" };
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcmp(dot + 1, ext[i]))
			return 1;
	return 0;
}

struct tree {
	char **paths;	/* relative to the script's directory, sorted before reading */
	int n;
};

/* Code files of dir (prefix: its name under the script's directory), and,
 * at depth 0, of its subdirectories; caches and hidden entries skipped
 * (__pycache__'s .pyc files change when Python first runs the code). */
static void list_code(struct tree *t, const char *dir, const char *prefix, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) && t->n < TREE_FILES) {
		char path[PATH_MAX], sub[PATH_MAX], *rel;
		struct stat st;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "__pycache__"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode) && !depth) {
			snprintf(sub, sizeof(sub), "%s%s/", prefix, e->d_name);
			list_code(t, path, sub, 1);
		} else if (S_ISREG(st.st_mode) && is_code(e->d_name) &&
			   asprintf(&rel, "%s%s", prefix, e->d_name) > 0) {
			t->paths[t->n++] = rel;
		}
	}
	if (d)
		closedir(d);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names and contents of the code files around a script. */
static uint64_t hash_tree(uint64_t h, const char *dir)
{
	struct tree t = { .paths = calloc(TREE_FILES, sizeof(char *)) };
	char path[2 * PATH_MAX];

	if (!t.paths)
		return h;
	list_code(&t, dir, "", 0);
	qsort(t.paths, t.n, sizeof(*t.paths), cmp_path);
	for (int i = 0; i < t.n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, t.paths[i]);
		h = hash_file(fnv_str(h, t.paths[i]), path);
		free(t.paths[i]);
	}
	free(t.paths);
	return h;
}

/* The first line of a file, newline cut; 0 or -1. */
static int first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");
	int ok = f && fgets(out, len, f);

	if (f)
		fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* The commit checked out in the git tree dir is in, if any. */
static uint64_t hash_git_head(uint64_t h, const char *dir)
{
	char d[PATH_MAX], path[PATH_MAX + 300], head[256], line[512];

	snprintf(d, sizeof(d), "%s", dir);
	for (int level = 0; level < GIT_LEVELS && d[0]; level++) {
		char *slash;

		snprintf(path, sizeof(path), "%s/.git/HEAD", d);
		if (!first_line(path, head, sizeof(head))) {
			const char *ref = !strncmp(head, "ref: ", 5) ? head + 5 : NULL;
			FILE *packed;

			if (!ref)
				return fnv_str(h, head);	/* detached: the commit */
			snprintf(path, sizeof(path), "%s/.git/%s", d, ref);
			if (!first_line(path, line, sizeof(line)))
				return fnv_str(h, line);
			snprintf(path, sizeof(path), "%s/.git/packed-refs", d);
			packed = fopen(path, "re");
			while (packed && fgets(line, sizeof(line), packed)) {
				char *sp = strchr(line, ' ');

				line[strcspn(line, "\n")] = '\0';
				if (sp && !strcmp(sp + 1, ref)) {
					h = fnv_str(h, line);
					break;
				}
			}
			if (packed)
				fclose(packed);
			return h;
		}
		slash = strrchr(d, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return h;
}

void release__id(const struct release_src *s, char *out)
{
	char build[2 * 64 + 1], path[PATH_MAX], dir[PATH_MAX];
	const char *module, *script = release__script(s, &module);
	int has_build = cached_build_id(s, build, sizeof(build));
	uint64_t h = FNV64_INIT;

	if (has_build && !script && !module) {
		if (strlen(build) >= RELEASE_ID_LEN) {
			memcpy(out, build, RELEASE_ID_LEN);
			out[RELEASE_ID_LEN] = '\0';
			return;
		}
	}
	if (has_build) {
		h = fnv_str(h, build);
	} else {
		uint64_t id[5] = { s->dev, s->ino, s->size, (uint64_t)s->mtime_sec, s->mtime_nsec };

		h = fnv(h, id, sizeof(id));
	}
	if (module)
		h = fnv_str(h, module);
	if (script && !resolve(s->pid, script, path, sizeof(path))) {
		char *slash;

		h = hash_file(h, path);
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		h = hash_tree(h, dir);	/* the script again, if it is code by its name */
		h = hash_git_head(h, dir);
	} else if (script) {
		h = fnv_str(h, script);	/* relative, and its process is gone */
	}
	snprintf(out, RELEASE_ID_LEN + 1, "%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}
