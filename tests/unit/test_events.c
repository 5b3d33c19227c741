/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The events family's pure parts: an exit's cause from its wait status and
 * what the kernel saw of its end; which script an interpreter's argv runs;
 * release ids of real files: a build id, a script whose module changes, the
 * same contents written again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "check.h"
#include "contract/events_abi.h"
#include "families/events.h"
#include "families/release.h"

static void cause(struct ev_exit e, const char *reason, const char *detail)
{
	char r[16], d[32];

	events__cause(&e, r, d);
	CHECK(!strcmp(r, reason) && !strcmp(d, detail), "code %#x: %s %s, want %s %s", e.code, r, d,
	      reason, detail);
}

static void causes(void)
{
	cause((struct ev_exit){ .code = 0 }, "exit", "0");
	cause((struct ev_exit){ .code = 3 << 8 }, "exit", "3");
	cause((struct ev_exit){ .code = 255 << 8 }, "exit", "255");
	cause((struct ev_exit){ .code = 11 | 0x80 }, "signal", "SIGSEGV");	/* core dumped */
	cause((struct ev_exit){ .code = 6 }, "signal", "SIGABRT");
	/* a SIGKILL nobody we saw sent: the kernel's (seccomp, a fatal fault) */
	cause((struct ev_exit){ .code = 9 }, "signal", "SIGKILL");
	cause((struct ev_exit){ .code = 9, .killer_tgid = 7, .killer_sig = 9, .killer_parent = 1 },
	      "killed", "parent");
	cause((struct ev_exit){ .code = 15, .killer_tgid = 7, .killer_sig = 15,
				.killer_comm = "systemd" }, "killed", "systemd");
	/* a comm of 16 bytes without its NUL is cut, not overrun */
	cause((struct ev_exit){ .code = 15, .killer_tgid = 7, .killer_sig = 15,
				.killer_comm = "0123456789abcdef" }, "killed", "0123456789abcdef");
	/* SIGTERM sent, ignored, then died of a signal nobody sent */
	cause((struct ev_exit){ .code = 9, .killer_tgid = 7, .killer_sig = 15 }, "signal", "SIGKILL");
	/* a handled SIGTERM and a clean exit is an exit */
	cause((struct ev_exit){ .code = 0, .killer_tgid = 7, .killer_sig = 15 }, "exit", "0");
	cause((struct ev_exit){ .code = 9, .oom_victim = 1, .oom = EV_OOM_CGROUP }, "oom", "cgroup");
	cause((struct ev_exit){ .code = 9, .oom_victim = 1, .oom = EV_OOM_GLOBAL }, "oom", "global");
	cause((struct ev_exit){ .code = 9, .oom_victim = 1 }, "oom", "unknown");
	/* an OOM victim that had a killer too: the OOM killer's kill */
	cause((struct ev_exit){ .code = 9, .oom_victim = 1, .oom = EV_OOM_CGROUP, .killer_tgid = 7,
				.killer_sig = 9, .killer_parent = 1 }, "oom", "cgroup");
}

static void script(const char *filename, const char *interp, const char *args, size_t n,
		   const char *want_script, const char *want_module)
{
	struct release_src s = { .filename = filename, .interp = interp, .args = args,
				 .args_len = n };
	const char *module, *got = release__script(&s, &module);

	CHECK(want_script ? got && !strcmp(got, want_script) : !got, "%s: script %s, want %s",
	      filename, got ? got : "none", want_script ? want_script : "none");
	CHECK(want_module ? module && !strcmp(module, want_module) : !module,
	      "%s: module %s, want %s", filename, module ? module : "none",
	      want_module ? want_module : "none");
}

#define ARGS(s) s, sizeof(s) - 1

static void scripts(void)
{
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0svc.py\0"), "svc.py", NULL);
	script("/usr/bin/python3.11", "/usr/bin/python3.11",
	       ARGS("python3\0-W\0ignore\0-u\0/opt/odoo/odoo-bin\0-c\0/etc/odoo.conf\0"),
	       "/opt/odoo/odoo-bin", NULL);
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0-m\0odoo\0"), NULL, "odoo");
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0-c\0print(1)\0"), NULL,
	       "print(1)");
	/* a #! script: exec's file name is the script */
	script("/usr/bin/odoo", "/usr/bin/python3", ARGS("/usr/bin/python3\0/usr/bin/odoo\0"),
	       "/usr/bin/odoo", NULL);
	/* a compiled program's arguments are not scripts */
	script("/usr/sbin/redis-server", "/usr/sbin/redis-server", ARGS("redis-server\0conf.py\0"),
	       NULL, NULL);
	/* cut short: an option without its value, an argv without its NUL */
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0-W"), NULL, NULL);
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0-W\0"), NULL, NULL);
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0-m\0"), NULL, NULL);
	script("/usr/bin/python3", "/usr/bin/python3", ARGS("python3\0svc.p"), NULL, NULL);
	script("/bin/sh", "/bin/sh", ARGS("sh\0-e\0"), NULL, NULL);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void id_of(const char *exe, const char *args, size_t n, char *out)
{
	struct stat st = {};
	struct release_src s = { .filename = exe, .interp = exe, .args = args, .args_len = n };

	stat(exe, &st);
	s.ino = st.st_ino;
	s.dev = major(st.st_dev) << 20 | minor(st.st_dev);
	s.size = st.st_size;
	release__id(&s, out);
}

/* A script's release follows its code and its module's, not their mtimes
 * or the caches an interpreter writes. */
static void script_releases(void)
{
	char dir[] = "/tmp/odtrace-release-XXXXXX", path[128], args[256], a[16], b[16], c[16], d[16];
	int n;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/svc.py", dir);
	put(path, "import mod\n");
	n = snprintf(args, sizeof(args), "python3%c%s/svc.py", 0, dir) + 1;
	snprintf(path, sizeof(path), "%s/mod.py", dir);
	put(path, "VERSION = 1\n");
	id_of("/usr/bin/python3", args, n, a);
	put(path, "VERSION = 1\n");	/* written again, same code */
	snprintf(path, sizeof(path), "%s/__pycache__", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/__pycache__/mod.cpython-311.pyc", dir);
	put(path, "compiled");
	id_of("/usr/bin/python3", args, n, b);
	snprintf(path, sizeof(path), "%s/mod.py", dir);
	put(path, "VERSION = 2\n");
	id_of("/usr/bin/python3", args, n, c);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	put(path, "not code");
	id_of("/usr/bin/python3", args, n, d);
	CHECK(strlen(a) == RELEASE_ID_LEN, "release id '%s'", a);
	CHECK(!strcmp(a, b), "same code, new mtime and a cache: %s then %s", a, b);
	CHECK(strcmp(b, c), "module changed: %s both times", b);
	CHECK(!strcmp(c, d), "a file that is not code: %s then %s", c, d);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	CHECK(system(path) == 0, "%s", path);
}

/* A compiled program's release is its build id, wherever it is copied. */
static void binary_releases(void)
{
	char dir[] = "/tmp/odtrace-release-XXXXXX", cmd[512], exe[128], copy[128], a[16], b[16];

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return;
	}
	snprintf(exe, sizeof(exe), "%s/svc", dir);
	snprintf(copy, sizeof(copy), "%s/copy", dir);
	snprintf(cmd, sizeof(cmd),
		 "echo 'int main(void){return 0;}' | cc -x c -Wl,--build-id=0x0123456789abcdef -o %s - "
		 "&& cp %s %s", exe, exe, copy);
	if (system(cmd)) {
		CHECK(0, "%s", cmd);
		return;
	}
	id_of(exe, "svc", 4, a);
	id_of(copy, "copy", 5, b);
	CHECK(!strcmp(a, "0123456789ab"), "build id: %s", a);
	CHECK(!strcmp(a, b), "a copy: %s then %s", a, b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0, "%s", cmd);
}

int main(void)
{
	causes();
	scripts();
	script_releases();
	binary_releases();
	return checks_done("events");
}
