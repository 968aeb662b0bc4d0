#ifndef TOKENWIRE_C_FUZZ_DRIVER_H
#define TOKENWIRE_C_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's per-input callback (the signature of LLVMFuzzerTestOneInput).
typedef int (*tokenwire_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver (LLVMFuzzerRunDriver: flags, corpus, -runs, crash files) on
/// `callback`. SwiftPM links a debug executable with `main` renamed to `<module>_main`,
/// which hides libFuzzer's own `main`, so each target's entry point calls this instead.
int tokenwire_fuzz_run(int argc, char **argv, tokenwire_fuzz_callback callback);

#endif
