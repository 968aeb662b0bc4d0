#ifndef TOKENWIRE_SPAWN_H
#define TOKENWIRE_SPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL: this process's environment) in `directory`
/// (NULL: the current one), with `stdin_fd`, `stdout_fd` and `stderr_fd` as its standard
/// streams and every other descriptor closed, in a process group of its own, with
/// SIGTERM, SIGINT, SIGHUP and SIGQUIT at their defaults and no signal blocked.
///
/// Closing is one file action (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34+),
/// not a walk of /proc/self/fd in this process: Foundation's `Process.run()` walks it with
/// a buffer over-read that crashes now and then on Linux
/// (swiftlang/swift-corelibs-foundation#5472).
///
/// Returns 0 and the child's pid in `pid`, or an errno value.
int tokenwire_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                    const char *directory, int stdin_fd, int stdout_fd, int stderr_fd);

/// Waits for `pid` to end (retrying on EINTR). Returns 0 and the raw wait status in
/// `status`, or an errno value.
int tokenwire_wait(pid_t pid, int *status);

/// The exit code (`exited` 1) or the signal (`exited` 0) of a raw wait status.
int tokenwire_wait_status(int status, int *exited);

#endif
