#define _GNU_SOURCE
#include "tokenwire_spawn.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int tokenwire_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                    const char *directory, int stdin_fd, int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    // dup2 onto the same number clears close-on-exec (glibc 2.29+), so an inherited 0-2 stays.
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
    if (result == 0 && directory != NULL) result = posix_spawn_file_actions_addchdir_np(&actions, directory);
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // The signals that stop a process start at their defaults, unblocked: an ignored
    // SIGTERM (test runners ignore it) would otherwise be inherited across exec, and the
    // child could not be asked to stop. SIGPIPE keeps this process's disposition.
    sigset_t defaults, empty;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGQUIT);
    sigemptyset(&empty);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &empty);
    if (result == 0)
        result = posix_spawnattr_setflags(
            &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp != NULL ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int tokenwire_wait(pid_t pid, int *status) {
    while (waitpid(pid, status, 0) == -1) {
        if (errno != EINTR) return errno;
    }
    return 0;
}

int tokenwire_wait_status(int status, int *exited) {
    if (WIFEXITED(status)) {
        *exited = 1;
        return WEXITSTATUS(status);
    }
    *exited = 0;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}
