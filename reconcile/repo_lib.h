/*
 * libgit2 on demand (README: "Memory"). reconcile/repo_lib.c loads libgit2 (dlopen) at the
 * first git_libgit2_init and unloads it (dlclose) at the git_libgit2_shutdown that leaves it
 * no user. A command that reads only the working tree then carries libgit2 and what it brings
 * (mbedtls and its CA certificates, libssh2, krb5, ...) for the working-tree check alone, not
 * while it loads and checks every file; one that never opens a repository never maps it.
 *
 * The repository modules (reconcile/repo*.c) include this header after the libgit2 headers:
 * every git_* function they call is then a macro for the pointer resolved at load, so their
 * code reads as plain libgit2. As in libgit2 itself, no git_* function but git_libgit2_init may
 * be called with no git_libgit2_init outstanding. A libgit2 that cannot be loaded ends the
 * process with a message naming it, as a missing library at startup would. A function missing
 * from the list below fails the link (cacheform is not linked against libgit2), never the run.
 */
#ifndef CF_REPO_LIB_H
#define CF_REPO_LIB_H

#include <stdbool.h>

#include <git2.h>
#include <git2/pack.h>
#include <git2/sys/mempack.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

/* X(name): one line per libgit2 function used anywhere in cacheform */
#define REPO_LIB_FUNCTIONS(X)                                                                      \
	X(git_blob_create_from_buffer)                                                             \
	X(git_blob_free)                                                                           \
	X(git_blob_lookup)                                                                         \
	X(git_blob_rawcontent)                                                                     \
	X(git_blob_rawsize)                                                                        \
	X(git_buf_dispose)                                                                         \
	X(git_commit_create)                                                                       \
	X(git_commit_free)                                                                         \
	X(git_commit_id)                                                                           \
	X(git_commit_lookup)                                                                       \
	X(git_commit_tree)                                                                         \
	X(git_config_free)                                                                         \
	X(git_config_get_string_buf)                                                               \
	X(git_config_iterator_free)                                                                \
	X(git_config_iterator_new)                                                                 \
	X(git_config_next)                                                                         \
	X(git_credential_ssh_key_from_agent)                                                       \
	X(git_diff_foreach)                                                                        \
	X(git_diff_free)                                                                           \
	X(git_diff_tree_to_tree)                                                                   \
	X(git_error_last)                                                                          \
	X(git_fetch_options_init)                                                                  \
	X(git_graph_descendant_of)                                                                 \
	X(git_libgit2_version)                                                                     \
	X(git_mempack_new)                                                                         \
	X(git_mempack_reset)                                                                       \
	X(git_merge_base)                                                                          \
	X(git_object_free)                                                                         \
	X(git_object_peel)                                                                         \
	X(git_odb_add_backend)                                                                     \
	X(git_odb_backend_data_alloc)                                                              \
	X(git_odb_exists_ext)                                                                      \
	X(git_odb_free)                                                                            \
	X(git_odb_hash)                                                                            \
	X(git_odb_init_backend)                                                                    \
	X(git_odb_new)                                                                             \
	X(git_odb_object_data)                                                                     \
	X(git_odb_object_free)                                                                     \
	X(git_odb_object_id)                                                                       \
	X(git_odb_object_size)                                                                     \
	X(git_odb_object_type)                                                                     \
	X(git_odb_read)                                                                            \
	X(git_odb_read_header)                                                                     \
	X(git_odb_read_prefix)                                                                     \
	X(git_odb_write_pack)                                                                      \
	X(git_oid_cpy)                                                                             \
	X(git_oid_equal)                                                                           \
	X(git_oid_is_zero)                                                                         \
	X(git_oid_tostr)                                                                           \
	X(git_packbuilder_foreach)                                                                 \
	X(git_packbuilder_free)                                                                    \
	X(git_packbuilder_insert)                                                                  \
	X(git_packbuilder_insert_walk)                                                             \
	X(git_packbuilder_new)                                                                     \
	X(git_packbuilder_set_threads)                                                             \
	X(git_packbuilder_write_buf)                                                               \
	X(git_push_options_init)                                                                   \
	X(git_reference_create_matching)                                                           \
	X(git_reference_delete)                                                                    \
	X(git_reference_free)                                                                      \
	X(git_reference_lookup)                                                                    \
	X(git_reference_name_to_id)                                                                \
	X(git_reference_target)                                                                    \
	X(git_remote_connect)                                                                      \
	X(git_remote_create_options_init)                                                          \
	X(git_remote_create_with_opts)                                                             \
	X(git_remote_disconnect)                                                                   \
	X(git_remote_download)                                                                     \
	X(git_remote_free)                                                                         \
	X(git_remote_init_callbacks)                                                               \
	X(git_remote_ls)                                                                           \
	X(git_remote_name_is_valid)                                                                \
	X(git_remote_push)                                                                         \
	X(git_repository_commondir)                                                                \
	X(git_repository_config_snapshot)                                                          \
	X(git_repository_free)                                                                     \
	X(git_repository_odb)                                                                      \
	X(git_repository_open_ext)                                                                 \
	X(git_repository_set_odb)                                                                  \
	X(git_repository_workdir)                                                                  \
	X(git_revparse_single)                                                                     \
	X(git_revwalk_free)                                                                        \
	X(git_revwalk_hide)                                                                        \
	X(git_revwalk_new)                                                                         \
	X(git_revwalk_push)                                                                        \
	X(git_signature_free)                                                                      \
	X(git_signature_now)                                                                       \
	X(git_status_list_entrycount)                                                              \
	X(git_status_list_free)                                                                    \
	X(git_status_list_new)                                                                     \
	X(git_status_options_init)                                                                 \
	X(git_tree_create_updated)                                                                 \
	X(git_tree_entry_byindex)                                                                  \
	X(git_tree_entry_byname)                                                                   \
	X(git_tree_entry_bypath)                                                                   \
	X(git_tree_entry_dup)                                                                      \
	X(git_tree_entry_filemode)                                                                 \
	X(git_tree_entry_free)                                                                     \
	X(git_tree_entry_id)                                                                       \
	X(git_tree_entry_name)                                                                     \
	X(git_tree_entry_type)                                                                     \
	X(git_tree_entrycount)                                                                     \
	X(git_tree_free)                                                                           \
	X(git_tree_id)                                                                             \
	X(git_tree_lookup)                                                                         \
	X(git_tree_owner)

#define REPO_LIB_POINTER(f) __typeof__(f) *f;
struct repo_lib {
	REPO_LIB_FUNCTIONS(REPO_LIB_POINTER)
	__typeof__(git_libgit2_init) *git_libgit2_init;
	__typeof__(git_libgit2_shutdown) *git_libgit2_shutdown;
};
#undef REPO_LIB_POINTER

/* The functions of the loaded libgit2; all NULL while it is not loaded. */
extern struct repo_lib repo_lib;

/* Loads libgit2 if needed, then git_libgit2_init. Returns what git_libgit2_init returns. */
int repo_lib_init(void);

/* git_libgit2_shutdown; unloads libgit2 when that was its last user. Returns what
 * git_libgit2_shutdown returns (the users left). */
int repo_lib_shutdown(void);

/* True while libgit2 is loaded in this process. */
bool repo_lib_loaded(void);

#ifndef REPO_LIB_IMPL
#define git_libgit2_init		  repo_lib_init
#define git_libgit2_shutdown		  repo_lib_shutdown
#define git_blob_create_from_buffer	  (repo_lib.git_blob_create_from_buffer)
#define git_blob_free			  (repo_lib.git_blob_free)
#define git_blob_lookup			  (repo_lib.git_blob_lookup)
#define git_blob_rawcontent		  (repo_lib.git_blob_rawcontent)
#define git_blob_rawsize		  (repo_lib.git_blob_rawsize)
#define git_buf_dispose			  (repo_lib.git_buf_dispose)
#define git_commit_create		  (repo_lib.git_commit_create)
#define git_commit_free			  (repo_lib.git_commit_free)
#define git_commit_id			  (repo_lib.git_commit_id)
#define git_commit_lookup		  (repo_lib.git_commit_lookup)
#define git_commit_tree			  (repo_lib.git_commit_tree)
#define git_config_free			  (repo_lib.git_config_free)
#define git_config_get_string_buf	  (repo_lib.git_config_get_string_buf)
#define git_config_iterator_free	  (repo_lib.git_config_iterator_free)
#define git_config_iterator_new		  (repo_lib.git_config_iterator_new)
#define git_config_next			  (repo_lib.git_config_next)
#define git_credential_ssh_key_from_agent (repo_lib.git_credential_ssh_key_from_agent)
#define git_diff_foreach		  (repo_lib.git_diff_foreach)
#define git_diff_free			  (repo_lib.git_diff_free)
#define git_diff_tree_to_tree		  (repo_lib.git_diff_tree_to_tree)
#define git_error_last			  (repo_lib.git_error_last)
#define git_fetch_options_init		  (repo_lib.git_fetch_options_init)
#define git_graph_descendant_of		  (repo_lib.git_graph_descendant_of)
#define git_libgit2_version		  (repo_lib.git_libgit2_version)
#define git_mempack_new			  (repo_lib.git_mempack_new)
#define git_mempack_reset		  (repo_lib.git_mempack_reset)
#define git_merge_base			  (repo_lib.git_merge_base)
#define git_object_free			  (repo_lib.git_object_free)
#define git_object_peel			  (repo_lib.git_object_peel)
#define git_odb_add_backend		  (repo_lib.git_odb_add_backend)
#define git_odb_backend_data_alloc	  (repo_lib.git_odb_backend_data_alloc)
#define git_odb_exists_ext		  (repo_lib.git_odb_exists_ext)
#define git_odb_free			  (repo_lib.git_odb_free)
#define git_odb_hash			  (repo_lib.git_odb_hash)
#define git_odb_init_backend		  (repo_lib.git_odb_init_backend)
#define git_odb_new			  (repo_lib.git_odb_new)
#define git_odb_object_data		  (repo_lib.git_odb_object_data)
#define git_odb_object_free		  (repo_lib.git_odb_object_free)
#define git_odb_object_id		  (repo_lib.git_odb_object_id)
#define git_odb_object_size		  (repo_lib.git_odb_object_size)
#define git_odb_object_type		  (repo_lib.git_odb_object_type)
#define git_odb_read			  (repo_lib.git_odb_read)
#define git_odb_read_header		  (repo_lib.git_odb_read_header)
#define git_odb_read_prefix		  (repo_lib.git_odb_read_prefix)
#define git_odb_write_pack		  (repo_lib.git_odb_write_pack)
#define git_oid_cpy			  (repo_lib.git_oid_cpy)
#define git_oid_equal			  (repo_lib.git_oid_equal)
#define git_oid_is_zero			  (repo_lib.git_oid_is_zero)
#define git_oid_tostr			  (repo_lib.git_oid_tostr)
#define git_packbuilder_foreach		  (repo_lib.git_packbuilder_foreach)
#define git_packbuilder_free		  (repo_lib.git_packbuilder_free)
#define git_packbuilder_insert		  (repo_lib.git_packbuilder_insert)
#define git_packbuilder_insert_walk	  (repo_lib.git_packbuilder_insert_walk)
#define git_packbuilder_new		  (repo_lib.git_packbuilder_new)
#define git_packbuilder_set_threads	  (repo_lib.git_packbuilder_set_threads)
#define git_packbuilder_write_buf	  (repo_lib.git_packbuilder_write_buf)
#define git_push_options_init		  (repo_lib.git_push_options_init)
#define git_reference_create_matching	  (repo_lib.git_reference_create_matching)
#define git_reference_delete		  (repo_lib.git_reference_delete)
#define git_reference_free		  (repo_lib.git_reference_free)
#define git_reference_lookup		  (repo_lib.git_reference_lookup)
#define git_reference_name_to_id	  (repo_lib.git_reference_name_to_id)
#define git_reference_target		  (repo_lib.git_reference_target)
#define git_remote_connect		  (repo_lib.git_remote_connect)
#define git_remote_create_options_init	  (repo_lib.git_remote_create_options_init)
#define git_remote_create_with_opts	  (repo_lib.git_remote_create_with_opts)
#define git_remote_disconnect		  (repo_lib.git_remote_disconnect)
#define git_remote_download		  (repo_lib.git_remote_download)
#define git_remote_free			  (repo_lib.git_remote_free)
#define git_remote_init_callbacks	  (repo_lib.git_remote_init_callbacks)
#define git_remote_ls			  (repo_lib.git_remote_ls)
#define git_remote_name_is_valid	  (repo_lib.git_remote_name_is_valid)
#define git_remote_push			  (repo_lib.git_remote_push)
#define git_repository_commondir	  (repo_lib.git_repository_commondir)
#define git_repository_config_snapshot	  (repo_lib.git_repository_config_snapshot)
#define git_repository_free		  (repo_lib.git_repository_free)
#define git_repository_odb		  (repo_lib.git_repository_odb)
#define git_repository_open_ext		  (repo_lib.git_repository_open_ext)
#define git_repository_set_odb		  (repo_lib.git_repository_set_odb)
#define git_repository_workdir		  (repo_lib.git_repository_workdir)
#define git_revparse_single		  (repo_lib.git_revparse_single)
#define git_revwalk_free		  (repo_lib.git_revwalk_free)
#define git_revwalk_hide		  (repo_lib.git_revwalk_hide)
#define git_revwalk_new			  (repo_lib.git_revwalk_new)
#define git_revwalk_push		  (repo_lib.git_revwalk_push)
#define git_signature_free		  (repo_lib.git_signature_free)
#define git_signature_now		  (repo_lib.git_signature_now)
#define git_status_list_entrycount	  (repo_lib.git_status_list_entrycount)
#define git_status_list_free		  (repo_lib.git_status_list_free)
#define git_status_list_new		  (repo_lib.git_status_list_new)
#define git_status_options_init		  (repo_lib.git_status_options_init)
#define git_tree_create_updated		  (repo_lib.git_tree_create_updated)
#define git_tree_entry_byindex		  (repo_lib.git_tree_entry_byindex)
#define git_tree_entry_byname		  (repo_lib.git_tree_entry_byname)
#define git_tree_entry_bypath		  (repo_lib.git_tree_entry_bypath)
#define git_tree_entry_dup		  (repo_lib.git_tree_entry_dup)
#define git_tree_entry_filemode		  (repo_lib.git_tree_entry_filemode)
#define git_tree_entry_free		  (repo_lib.git_tree_entry_free)
#define git_tree_entry_id		  (repo_lib.git_tree_entry_id)
#define git_tree_entry_name		  (repo_lib.git_tree_entry_name)
#define git_tree_entry_type		  (repo_lib.git_tree_entry_type)
#define git_tree_entrycount		  (repo_lib.git_tree_entrycount)
#define git_tree_free			  (repo_lib.git_tree_free)
#define git_tree_id			  (repo_lib.git_tree_id)
#define git_tree_lookup			  (repo_lib.git_tree_lookup)
#define git_tree_owner			  (repo_lib.git_tree_owner)
#endif

#endif
