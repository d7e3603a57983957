// SPDX-License-Identifier: MIT
/*
 * Suite "util": tests of libshm/src/util.c — region and object names,
 * size parsing, backend names and resolution, object type names — and the
 * compile-time layout of the shared structures every process relies on.
 */
#include <stddef.h>

#include "testutil.h"

TestSuite(util, .fini = t_cleanup);

/* ---- names ---------------------------------------------------------- */

Test(util, accepts_region_names_of_the_allowed_characters)
{
	char n63[64];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	cr_assert(pinshm_name_valid("a"));
	cr_assert(pinshm_name_valid("md"));
	cr_assert(pinshm_name_valid("Az09._-"));
	cr_assert(pinshm_name_valid("a.b"));
	cr_assert(pinshm_name_valid("-x"));
	cr_assert(pinshm_name_valid("_x"));
	cr_assert(pinshm_name_valid("x."));
	cr_assert(pinshm_name_valid(n63), "63 characters is the limit");
}

Test(util, rejects_bad_region_names)
{
	char n64[65], n300[301];

	memset(n64, 'a', 64);
	n64[64] = '\0';
	memset(n300, 'b', 300);
	n300[300] = '\0';
	cr_assert_not(pinshm_name_valid(""));
	cr_assert_not(pinshm_name_valid("."));
	cr_assert_not(pinshm_name_valid(".."));
	cr_assert_not(pinshm_name_valid(".hidden"));
	cr_assert_not(pinshm_name_valid("/"));
	cr_assert_not(pinshm_name_valid("a/b"));
	cr_assert_not(pinshm_name_valid("/abs"));
	cr_assert_not(pinshm_name_valid("a b"));
	cr_assert_not(pinshm_name_valid("a\n"));
	cr_assert_not(pinshm_name_valid("a*"));
	cr_assert_not(pinshm_name_valid("a:b"));
	cr_assert_not(pinshm_name_valid("caf\xc3\xa9"));
	cr_assert_not(pinshm_name_valid("a\x7f"));
	cr_assert_not(pinshm_name_valid(n64), "64 characters is one too many");
	cr_assert_not(pinshm_name_valid(n300));
}

Test(util, object_names_allow_31_characters_and_no_more)
{
	char n31[32], n32[33];

	memset(n31, 'r', 31);
	n31[31] = '\0';
	memset(n32, 'r', 32);
	n32[32] = '\0';
	cr_assert(pinshm_obj_name_valid("exec"));
	cr_assert(pinshm_obj_name_valid("Ring_1.a-b"));
	cr_assert(pinshm_obj_name_valid(n31));
	cr_assert_not(pinshm_obj_name_valid(n32));
	cr_assert_not(pinshm_obj_name_valid(""));
	cr_assert_not(pinshm_obj_name_valid("."));
	cr_assert_not(pinshm_obj_name_valid(".x"));
	cr_assert_not(pinshm_obj_name_valid("a/b"));
	cr_assert_not(pinshm_obj_name_valid("a b"));
	cr_assert_not(pinshm_obj_name_valid("a\tb"));
}

/* ---- sizes ---------------------------------------------------------- */

static void check_size(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int ret = pinshm_parse_size(s, &v);

	cr_assert_eq(ret, 0, "parse_size(\"%s\"): %d", s, ret);
	cr_assert_eq(v, want, "parse_size(\"%s\") = %llu, want %llu", s,
		     (unsigned long long)v, (unsigned long long)want);
}

static void check_size_err(const char *s, int err)
{
	uint64_t v = 0;
	int ret = pinshm_parse_size(s, &v);

	cr_assert_eq(ret, err, "parse_size(\"%s\"): %d, want %d", s, ret, err);
}

Test(util, parses_sizes_with_binary_suffixes)
{
	check_size("0", 0);
	check_size("1", 1);
	check_size("64", 64);
	check_size("4096", 4096);
	check_size("4K", 4096);
	check_size("2M", 2ull << 20);
	check_size("1G", 1ull << 30);
	check_size("64G", 64ull << 30);
	check_size("3K", 3072);
	/* Lower case and the KiB/KB spellings are accepted as well. */
	check_size("4k", 4096);
	check_size("4KiB", 4096);
	check_size("4KB", 4096);
	check_size("2MiB", 2ull << 20);
	check_size("18446744073709551615", UINT64_MAX);
	check_size("17179869183G", 17179869183ull << 30);
}

Test(util, rejects_malformed_sizes)
{
	check_size_err("", -EINVAL);
	check_size_err("K", -EINVAL);
	check_size_err("12X", -EINVAL);
	check_size_err("4iB", -EINVAL);
	check_size_err("4B", -EINVAL);
	check_size_err("4KiBx", -EINVAL);
	check_size_err("4KK", -EINVAL);
	check_size_err("4K ", -EINVAL);
	check_size_err(" 4K", -EINVAL);
	check_size_err("-1", -EINVAL);
	check_size_err("1.5M", -EINVAL);
	check_size_err("0x10", -EINVAL);
	check_size_err("abc", -EINVAL);
}

Test(util, rejects_sizes_that_overflow_64_bits)
{
	check_size_err("18446744073709551616", -ERANGE);
	check_size_err("99999999999999999999999", -ERANGE);
	check_size_err("17179869184G", -ERANGE);	/* 2^64 */
	check_size_err("18014398509481984K", -ERANGE);	/* 2^64 */
}

/* ---- backends ------------------------------------------------------- */

Test(util, parses_backend_names)
{
	cr_assert_eq(pinshm_backend_parse("auto"), PINSHM_BACKEND_AUTO);
	cr_assert_eq(pinshm_backend_parse("kmod"), PINSHM_BACKEND_KMOD);
	cr_assert_eq(pinshm_backend_parse("shm"), PINSHM_BACKEND_SHM);
	cr_assert_eq(pinshm_backend_parse(""), -EINVAL);
	cr_assert_eq(pinshm_backend_parse("shmx"), -EINVAL);
	cr_assert_eq(pinshm_backend_parse("sh"), -EINVAL);
	cr_assert_eq(pinshm_backend_parse("posix"), -EINVAL);
	cr_assert_eq(pinshm_backend_parse("kmod "), -EINVAL);
}

Test(util, names_each_backend)
{
	cr_assert_str_eq(pinshm_backend_name(PINSHM_BACKEND_AUTO), "auto");
	cr_assert_str_eq(pinshm_backend_name(PINSHM_BACKEND_KMOD), "kmod");
	cr_assert_str_eq(pinshm_backend_name(PINSHM_BACKEND_SHM), "shm");
	cr_assert_not_null(pinshm_backend_name(99), "unknown backend");
	cr_assert_not_null(pinshm_backend_name(-1), "unknown backend");
}

Test(util, backend_name_and_parse_round_trip)
{
	int b;

	for (b = PINSHM_BACKEND_AUTO; b <= PINSHM_BACKEND_SHM; b++)
		cr_assert_eq(pinshm_backend_parse(pinshm_backend_name(b)), b);
}

Test(util, environment_overrides_only_the_auto_backend)
{
	setenv("PINSHM_BACKEND", "shm", 1);
	cr_assert_eq(pinshm_backend_resolve(PINSHM_BACKEND_AUTO),
		     PINSHM_BACKEND_SHM);
	cr_assert_eq(pinshm_backend_resolve(PINSHM_BACKEND_SHM),
		     PINSHM_BACKEND_SHM);
	setenv("PINSHM_BACKEND", "kmod", 1);
	cr_assert_eq(pinshm_backend_resolve(PINSHM_BACKEND_SHM),
		     PINSHM_BACKEND_SHM, "an explicit backend wins over the env");
	cr_assert_eq(pinshm_backend_resolve(PINSHM_BACKEND_AUTO),
		     PINSHM_BACKEND_KMOD);
}

Test(util, auto_picks_shm_when_the_module_is_absent)
{
	unsetenv("PINSHM_BACKEND");
	if (access(PINSHM_DEV_PATH, F_OK) == 0)
		cr_skip_test("/dev/pinshm exists here");
	cr_assert_eq(pinshm_backend_resolve(PINSHM_BACKEND_AUTO),
		     PINSHM_BACKEND_SHM);
}

Test(util, a_bad_backend_in_the_environment_is_an_error_not_a_guess)
{
	int ret;

	setenv("PINSHM_BACKEND", "bogus", 1);
	ret = pinshm_backend_resolve(PINSHM_BACKEND_AUTO);
	cr_assert_lt(ret, 0, "resolve with PINSHM_BACKEND=bogus: %d", ret);
}

Test(util, an_unknown_backend_number_is_rejected)
{
	cr_assert_lt(pinshm_backend_resolve(7), 0);
	cr_assert_lt(pinshm_backend_resolve(-3), 0);
}

Test(util, creating_on_the_kmod_backend_without_the_module_gives_ENODEV)
{
	struct pinshm_region_opts o;
	struct pinshm_region *r = NULL;

	if (access(PINSHM_DEV_PATH, F_OK) == 0)
		cr_skip_test("/dev/pinshm exists here");
	pinshm_region_opts_init(&o);
	o.size = 4096;
	o.backend = PINSHM_BACKEND_KMOD;
	T_ERR(pinshm_region_create(t_name("nodev"), &o, &r), -ENODEV);
	T_ERR(pinshm_region_open("whatever", PINSHM_RDWR, PINSHM_BACKEND_KMOD,
				 &r), -ENODEV);
}

/* ---- object types ----------------------------------------------------- */

Test(util, names_and_parses_object_types)
{
	cr_assert_str_eq(pinshm_obj_type_name(PINSHM_OBJ_SPSC), "spsc");
	cr_assert_str_eq(pinshm_obj_type_name(PINSHM_OBJ_MPSC), "mpsc");
	cr_assert_str_eq(pinshm_obj_type_name(PINSHM_OBJ_BCAST), "bcast");
	cr_assert_str_eq(pinshm_obj_type_name(PINSHM_OBJ_SLOT), "slot");
	cr_assert_str_eq(pinshm_obj_type_name(PINSHM_OBJ_FANIN), "fanin");
	cr_assert_not_null(pinshm_obj_type_name(0));
	cr_assert_not_null(pinshm_obj_type_name(12345));
	cr_assert_eq(pinshm_obj_type_parse("spsc"), PINSHM_OBJ_SPSC);
	cr_assert_eq(pinshm_obj_type_parse("mpsc"), PINSHM_OBJ_MPSC);
	cr_assert_eq(pinshm_obj_type_parse("bcast"), PINSHM_OBJ_BCAST);
	cr_assert_eq(pinshm_obj_type_parse("slot"), PINSHM_OBJ_SLOT);
	cr_assert_eq(pinshm_obj_type_parse("fanin"), PINSHM_OBJ_FANIN);
	cr_assert_eq(pinshm_obj_type_parse(""), -EINVAL);
	cr_assert_eq(pinshm_obj_type_parse("ring"), -EINVAL);
	cr_assert_eq(pinshm_obj_type_parse("spscx"), -EINVAL);
}

/* ---- options ---------------------------------------------------------- */

Test(util, default_options_are_any_node_auto_backend_and_no_size)
{
	struct pinshm_region_opts o;

	memset(&o, 0xa5, sizeof(o));
	pinshm_region_opts_init(&o);
	cr_assert_eq(o.size, 0);
	cr_assert_eq(o.node, PINSHM_NODE_ANY);
	cr_assert(o.mode == 0600 || o.mode == 0, "mode %o", o.mode);
	cr_assert_eq(o.backend, PINSHM_BACKEND_AUTO);
}

/* ---- layout: what every process and library version agree on ---------- */

/*
 * The metadata page is the uapi header's; every layout of the data area is
 * checked at compile time in pinshm/layout.h.
 */
Test(util, shared_structures_have_their_documented_sizes)
{
	cr_assert_eq(sizeof(struct pinshm_attach), 40);
	cr_assert_eq(sizeof(struct pinshm_meta), PINSHM_META_SIZE);
	cr_assert_eq(offsetof(struct pinshm_meta, attach), PINSHM_META_HDR_SIZE);
}

Test(util, record_size_is_header_plus_payload_rounded_to_eight)
{
	cr_assert_eq(__pinshm_rec_size(0), 8);
	cr_assert_eq(__pinshm_rec_size(1), 16);
	cr_assert_eq(__pinshm_rec_size(8), 16);
	cr_assert_eq(__pinshm_rec_size(9), 24);
	cr_assert_eq(__pinshm_rec_size(56), 64);
	cr_assert_eq(__pinshm_rec_size(64), 72);
	cr_assert_eq(__pinshm_rec_size(UINT32_MAX), 8 + (1ull << 32));
}
