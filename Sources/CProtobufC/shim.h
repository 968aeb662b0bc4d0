#ifndef TOKENWIRE_CPROTOBUFC_SHIM_H
#define TOKENWIRE_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
