/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * No shell-outs: nothing under src/ or include/ may run a shell or another program. The daemon
 * holds CAP_NET_ADMIN; a command line built from a device name, a ruleset or a request would be
 * an injection waiting to happen, and a child would inherit the capability.
 *
 * The check scans every .c and .h file as C tokens (comments skipped, string literals apart):
 *  - an identifier in code naming a function that runs a program or a shell: system, popen,
 *    the exec family (execl, execlp, execle, execv, execvp, execvpe, execve, execveat,
 *    fexecve), posix_spawn, posix_spawnp, wordexp (runs /bin/sh for command substitution
 *    unless WRDE_NOCMD). Calls, function pointers and macros alike; struct members named so
 *    (s.system, p->popen) are not functions and pass;
 *  - a string literal containing "/bin/sh" or "/bin/bash".
 * The scanner is first checked on planted snippets (it must find each one, and must not be
 * fooled by comments, strings or longer names), then run over the tree; every finding is
 * printed as FILE:LINE: what.
 */
#include <ctype.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static const char *const banned_calls[] = {
    "system",  "popen",  "execl",    "execlp",  "execle",      "execv",        "execvp",
    "execvpe", "execve", "execveat", "fexecve", "posix_spawn", "posix_spawnp", "wordexp",
};
static const char *const banned_strings[] = {"/bin/sh", "/bin/bash"};

/* Prints each finding as NAME:LINE: what; returns how many. */
static unsigned scan(const char *name, const char *s, size_t len, FILE *report)
{
	unsigned found = 0, line = 1;
	size_t i = 0;
	char prev = 0; /* last non-blank code character before the current token */

	while (i < len) {
		char c = s[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '/' && i + 1 < len && s[i + 1] == '/') {
			while (i < len && s[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/');
			     i++)
				if (s[i] == '\n')
					line++;
			i += 2;
		} else if (c == '"' || c == '\'') {
			size_t start = ++i;
			unsigned at = line;

			while (i < len && s[i] != c) {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				if (s[i] == '\n')
					line++;
				i++;
			}
			for (size_t k = 0;
			     c == '"' && k < sizeof(banned_strings) / sizeof(*banned_strings);
			     k++) {
				size_t bl = strlen(banned_strings[k]);

				for (size_t j = start; j + bl <= i; j++)
					if (!memcmp(s + j, banned_strings[k], bl)) {
						fprintf(report, "%s:%u: string \"%s\"\n", name, at,
						        banned_strings[k]);
						found++;
						break;
					}
			}
			i++;
			prev = c;
		} else if (isalpha((unsigned char)c) || c == '_') {
			size_t start = i;
			bool member = prev == '.' || prev == '>';

			while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '_'))
				i++;
			for (size_t k = 0; k < sizeof(banned_calls) / sizeof(*banned_calls); k++)
				if (strlen(banned_calls[k]) == i - start &&
				    !memcmp(s + start, banned_calls[k], i - start) && !member) {
					fprintf(report, "%s:%u: %s\n", name, line, banned_calls[k]);
					found++;
				}
			prev = 'a';
		} else if (isdigit((unsigned char)c)) {
			while (i < len &&
			       (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_'))
				i++;
			prev = '0';
		} else {
			if (!isspace((unsigned char)c)) {
				/* "->" counts as member access, a lone '>' does not */
				prev = c == '>' && i > 0 && s[i - 1] == '-' ? '>'
				       : c == '>'                           ? '}'
				                                            : c;
			}
			i++;
		}
	}
	return found;
}

static unsigned scan_text(const char *text)
{
	return scan("snippet", text, strlen(text), stderr);
}

/* The scanner finds every planted shell-out and nothing else. */
static void test_scanner(void **state)
{
	(void)state;
	assert_int_equal(scan_text("int f(void) { return system(\"ls\"); }"), 1);
	assert_int_equal(scan_text("FILE *p = popen (cmd, \"r\");"), 1);
	assert_int_equal(scan_text("execvp(argv[0], argv);\nexecve(p, a, e);"), 2);
	assert_int_equal(scan_text("execl(\"/usr/bin/tc\", \"tc\", NULL);"), 1);
	assert_int_equal(scan_text("posix_spawnp(&pid, \"tc\", NULL, NULL, a, e);"), 1);
	assert_int_equal(scan_text("int (*run)(const char *) = system;"), 1);
	assert_int_equal(scan_text("#define RUN(x) system(x)"), 1);
	assert_int_equal(scan_text("wordexp(w, &we, 0);"), 1);
	assert_int_equal(scan_text("static const char *sh = \"/bin/sh\";"), 1);
	assert_int_equal(scan_text("char *a[] = {\"/bin/bash\", \"-c\", cmd};"), 1);
	assert_int_equal(scan_text("x = 1; /* a\n comment */ fexecve(fd, a, e);"), 1);
	/* not shell-outs */
	assert_int_equal(scan_text("/* system(\"ls\") and \"/bin/sh\" */"), 0);
	assert_int_equal(scan_text("// popen(cmd) execvp(a)\nint x;"), 0);
	assert_int_equal(scan_text("log(\"the system (kernel) said: popen(\");"), 0);
	assert_int_equal(scan_text("c->system = 1; s.popen = 2; p -> execv = 3;"), 0);
	assert_int_equal(scan_text("my_system(); systemd_notify(); execute(); spawn();"), 0);
	assert_int_equal(scan_text("char c = '\"'; const char *s = \"\\\"system(\";"), 0);
	assert_int_equal(scan_text("if (a > system_load) b();"), 0);
	/* a comparison is not member access: the name after it is a real reference */
	assert_int_equal(scan_text("if (a > 0) system(cmd);"), 1);
}

struct tally {
	unsigned files, findings;
};

static void scan_tree(const char *dir, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char path[4096];
		size_t nl = strlen(de->d_name);
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			scan_tree(path, t);
		} else if (S_ISREG(st.st_mode) && nl > 2 &&
		           (!strcmp(de->d_name + nl - 2, ".c") ||
		            !strcmp(de->d_name + nl - 2, ".h") ||
		            (nl > 5 && !strcmp(de->d_name + nl - 5, ".h.in")))) {
			FILE *f = fopen(path, "rb");
			char *buf = malloc((size_t)st.st_size + 1);
			size_t n;

			assert_non_null(f);
			assert_non_null(buf);
			n = fread(buf, 1, (size_t)st.st_size, f);
			fclose(f);
			t->findings += scan(path, buf, n, stdout);
			t->files++;
			free(buf);
		}
	}
	closedir(d);
}

/* The tree: src/ and include/. */
static void test_tree(void **state)
{
	const char *root = getenv("NTO_SOURCE_DIR");
	char dir[4096];
	struct tally t = {0};

	(void)state;
	if (!root)
		root = NTO_TREE;
	snprintf(dir, sizeof(dir), "%s/src", root);
	scan_tree(dir, &t);
	snprintf(dir, sizeof(dir), "%s/include", root);
	scan_tree(dir, &t);
	printf("scanned %u files under %s/src and %s/include: %u shell-outs\n", t.files, root, root,
	       t.findings);
	/* the right tree (not an empty directory) */
	assert_true(t.files > 50);
	if (t.findings)
		fail_msg(
		    "%u shell-out(s) in the sources (listed above); run programs' work through "
		    "netlink and libraries instead",
		    t.findings);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scanner),
	    cmocka_unit_test(test_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
