// The messages a client sends and reads (`GenerateRequest`, `TokenFrame`, `Completion`,
// `ResponseFormat`, `TokenwireError`, ...) live in TokenwireCore; a client imports
// TokenwireClient alone and has them (examples/ClientExample).
@_exported public import TokenwireCore
