/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "pg/elfnote.h"

typedef int (*section_fn)(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, const void *arg);

/* Calls fn on every section of type; sums what it returns. */
static int each_section(const char *path, Elf64_Word type, section_fn fn, const void *arg)
{
	Elf_Scn *scn = NULL;
	int fd, total = 0;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return -ENOEXEC;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			total += fn(elf, scn, &sh, arg);
	}
	elf_end(elf);
	close(fd);
	return total;
}

struct probe_name {
	const char *provider, *name;
};

/* An stapsdt note's descriptor: three addresses (pc, base, semaphore),
 * then "provider\0name\0args\0" (systemtap's sdt.h, note type 3). */
static int count_usdt(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, const void *arg)
{
	const struct probe_name *want = arg;
	size_t off = 0, name_off, desc_off;
	Elf_Data *data = elf_getdata(scn, NULL);
	int n = 0, addr = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	GElf_Nhdr nh;

	(void)sh;
	if (!data)
		return 0;
	while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *owner = (const char *)data->d_buf + name_off;
		const char *desc = (const char *)data->d_buf + desc_off;
		const char *prov, *name;

		if (nh.n_type != 3 || nh.n_namesz != 8 || memcmp(owner, "stapsdt", 8) ||
		    nh.n_descsz < (size_t)3 * addr + 2)
			continue;
		prov = desc + 3 * addr;
		name = prov + strnlen(prov, nh.n_descsz - 3 * addr) + 1;
		if (name >= desc + nh.n_descsz)
			continue;
		if (!strcmp(prov, want->provider) && !strcmp(name, want->name))
			n++;
	}
	return n;
}

int elfnote__usdt_count(const char *path, const char *provider, const char *name)
{
	struct probe_name want = { provider, name };

	return each_section(path, SHT_NOTE, count_usdt, &want);
}

static int find_symbol(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, const void *arg)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	for (size_t i = 0; data && i < n; i++) {
		GElf_Sym sym;
		const char *s;

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    !sym.st_value)
			continue;
		s = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (s && !strcmp(s, arg))
			return 1;
	}
	return 0;
}

int elfnote__has_symbol(const char *path, const char *sym)
{
	int n = each_section(path, SHT_DYNSYM, find_symbol, sym);

	return n < 0 ? n : n > 0;
}

struct build_id {
	char *out;
	size_t len;
};

/* The GNU build id note (type 3, owner "GNU"), as hex into out. */
static int find_build_id(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, const void *arg)
{
	const struct build_id *want = arg;
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	(void)elf;
	(void)sh;
	while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;

		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)data->d_buf + name_off, "GNU", 4) || !nh.n_descsz)
			continue;
		for (size_t i = 0; i < nh.n_descsz && 2 * i + 2 < want->len; i++)
			snprintf(want->out + 2 * i, 3, "%02x", desc[i]);
		return 1;
	}
	return 0;
}

int elfnote__build_id(const char *path, char *out, size_t len)
{
	struct build_id want = { out, len };
	int n;

	if (len)
		out[0] = '\0';
	n = each_section(path, SHT_NOTE, find_build_id, &want);
	return n < 0 ? n : n > 0;
}
