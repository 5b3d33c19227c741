/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "http/tlscert.h"
#include "util/clock.h"
#include "util/log.h"

#define CHAIN_MAX	16		/* certificates in the --listen-cert file */
#define PEM_MAX		(1 << 20)
#define CHECK_MS	1000		/* the files are stat()ed at most this often */
/* Pairs kept: GnuTLS uses the one a handshake got within that handshake
 * step, and a pair is freed only GENERATIONS - 1 reloads (seconds) later. */
#define GENERATIONS	4

struct pair {
	gnutls_pcert_st chain[CHAIN_MAX];
	unsigned int n;
	gnutls_privkey_t key;
};

static struct {
	char cert[4096], key[4096];	/* copies: a SIGHUP reload frees the config's */
	struct stat cert_st, key_st;	/* the files the pair in use came from */
	struct stat bad_cert, bad_key;	/* the last refused pair: said once */
	struct pair *gen[GENERATIONS];
	unsigned int cur;
	uint64_t checked_ms;
} tc;

static void pair_free(struct pair *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->n; i++)
		gnutls_pcert_deinit(&p->chain[i]);
	if (p->key)
		gnutls_privkey_deinit(p->key);
	free(p);
}

/* The whole file as a datum, NUL-terminated; -1 with errno. */
static int read_file(const char *path, gnutls_datum_t *d)
{
	FILE *f = fopen(path, "re");
	size_t n;

	d->data = NULL;
	if (!f)
		return -1;
	d->data = malloc(PEM_MAX);
	n = d->data ? fread(d->data, 1, PEM_MAX - 1, f) : 0;
	if (d->data && ferror(f)) {
		free(d->data);
		d->data = NULL;
		errno = EIO;
	}
	fclose(f);
	if (!d->data)
		return -1;
	d->data[n] = '\0';
	d->size = n;
	return 0;
}

/* Whether the key is the certificate's: their public keys' IDs. */
static int key_matches(struct pair *p)
{
	unsigned char a[64], b[64];
	size_t na = sizeof(a), nb = sizeof(b);
	gnutls_pubkey_t pub;
	int same;

	if (gnutls_pubkey_init(&pub))
		return 0;
	same = !gnutls_pubkey_import_privkey(pub, p->key, 0, 0) &&
	       !gnutls_pubkey_get_key_id(pub, 0, a, &na) &&
	       !gnutls_pubkey_get_key_id(p->chain[0].pubkey, 0, b, &nb) &&
	       na == nb && !memcmp(a, b, na);
	gnutls_pubkey_deinit(pub);
	return same;
}

/* Reads and checks the pair; NULL with the sentence to say in why. */
static struct pair *load(char *why, size_t len)
{
	gnutls_datum_t cert, key;
	struct pair *p;
	int err = 0;

	if (read_file(tc.cert, &cert)) {
		snprintf(why, len, "--listen-cert %s: cannot read it (%s); give a PEM file the agent's "
			 "user can read", tc.cert, strerror(errno));
		return NULL;
	}
	if (read_file(tc.key, &key)) {
		snprintf(why, len, "--listen-key %s: cannot read it (%s); give a PEM file the agent's "
			 "user can read", tc.key, strerror(errno));
		free(cert.data);
		return NULL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		snprintf(why, len, "--listen-cert %s: out of memory", tc.cert);
		err = 1;
	} else if (!strstr((char *)cert.data, "-----BEGIN CERTIFICATE-----")) {
		snprintf(why, len, "--listen-cert %s: not a PEM certificate (no -----BEGIN CERTIFICATE-----); "
			 "give one, e.g. made by openssl req -x509", tc.cert);
		err = 1;
	} else if (!strstr((char *)key.data, "PRIVATE KEY-----")) {
		snprintf(why, len, "--listen-key %s: not a PEM private key (no -----BEGIN PRIVATE KEY-----); "
			 "give the key --listen-cert's certificate was made with", tc.key);
		err = 1;
	} else {
		const char *what = "no certificate";

		p->n = CHAIN_MAX;
		err = gnutls_pcert_list_import_x509_raw(p->chain, &p->n, &cert, GNUTLS_X509_FMT_PEM, 0);
		if (err || !p->n) {
			what = err ? gnutls_strerror(err) : what;
			p->n = 0;
		} else if ((err = gnutls_privkey_init(&p->key)) ||
			   (err = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0))) {
			what = gnutls_strerror(err);
		} else if (!key_matches(p)) {
			what = "the key is not the certificate's";
			err = 1;
		}
		if (err || !p->n) {
			snprintf(why, len, "--listen-cert %s and --listen-key %s: GnuTLS cannot use them "
				 "together (%s); give a certificate and the private key it was made with",
				 tc.cert, tc.key, what);
			err = 1;
		}
	}
	/* the private key's text is not left behind in freed memory */
	memset(key.data, 0, key.size);
	free(key.data);
	free(cert.data);
	if (err) {
		pair_free(p);
		return NULL;
	}
	return p;
}

int tlscert__open(const char *cert_path, const char *key_path)
{
	char why[9216];	/* two paths and a sentence */

	snprintf(tc.cert, sizeof(tc.cert), "%s", cert_path);
	snprintf(tc.key, sizeof(tc.key), "%s", key_path);
	/* before the read: a change in between is read again at a handshake */
	stat(tc.cert, &tc.cert_st);
	stat(tc.key, &tc.key_st);
	if (!(tc.gen[0] = load(why, sizeof(why)))) {
		log_error("%s", why);
		return -1;
	}
	tc.checked_ms = clock__ms();
	return 0;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A changed file (a Secret swaps a symlink, cert-manager renews, someone
 * runs mv) is read again, with its partner; a pair that does not load or
 * does not go together (one file written, not yet the other) keeps the one
 * in use, said once per version of the files. */
static void maybe_reload(void)
{
	struct stat cs, ks;
	struct pair *p;
	uint64_t now = clock__ms();
	char why[9216];	/* two paths and a sentence */

	if (now - tc.checked_ms < CHECK_MS)
		return;
	tc.checked_ms = now;
	if (stat(tc.cert, &cs) || stat(tc.key, &ks))
		return;		/* mid-swap, or gone: the pair in use stays */
	if ((same_file(&cs, &tc.cert_st) && same_file(&ks, &tc.key_st)) ||
	    (same_file(&cs, &tc.bad_cert) && same_file(&ks, &tc.bad_key)))
		return;
	if (!(p = load(why, sizeof(why)))) {
		tc.bad_cert = cs;
		tc.bad_key = ks;
		log_warn("%s; /metrics keeps its previous certificate until the files change again", why);
		return;
	}
	tc.cur = (tc.cur + 1) % GENERATIONS;
	pair_free(tc.gen[tc.cur]);
	tc.gen[tc.cur] = p;
	tc.cert_st = cs;
	tc.key_st = ks;
	log_info("--listen-cert %s changed: /metrics serves the new certificate", tc.cert);
}

int tlscert__retrieve(gnutls_session_t s, const gnutls_datum_t *ca, int nca,
		    const gnutls_pk_algorithm_t *algos, int nalgos, gnutls_pcert_st **chain,
		    unsigned int *n, gnutls_privkey_t *key)
{
	struct pair *p;

	(void)s, (void)ca, (void)nca, (void)algos, (void)nalgos;
	maybe_reload();
	p = tc.gen[tc.cur];
	*chain = p->chain;
	*n = p->n;
	*key = p->key;
	return 0;
}

void tlscert__close(void)
{
	for (int i = 0; i < GENERATIONS; i++) {
		pair_free(tc.gen[i]);
		tc.gen[i] = NULL;
	}
}
