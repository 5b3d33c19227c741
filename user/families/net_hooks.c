#include <string.h>
#include <bpf/btf.h>
#include "families/net.h"

const char *net__hooks(const char *hooks)
{
	struct btf *btf;
	int sock;

	if (hooks && strcmp(hooks, "auto"))
		return !strcmp(hooks, "sock") ? "sock" : !strcmp(hooks, "syscalls") ? "syscalls" : NULL;
	btf = btf__load_vmlinux_btf();
	sock = btf && btf__find_by_name_kind(btf, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	return sock ? "sock" : "syscalls";
}
