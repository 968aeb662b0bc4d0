#ifndef TOKENWIRE_CNGHTTP2_SHIM_H
#define TOKENWIRE_CNGHTTP2_SHIM_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>

/*
 * nghttp2 1.60 added `*2` forms of the data provider and mem_recv/mem_send (returning
 * nghttp2_ssize) and later deprecated the old ones. Debian 12 ships 1.52, which only has
 * the old forms. These helpers pick whichever the installed library has, so the Swift
 * wrapper compiles against both.
 */
#if defined(NGHTTP2_VERSION_NUM) && NGHTTP2_VERSION_NUM >= 0x013c00
#define TOKENWIRE_NGHTTP2_HAS_SSIZE 1
typedef nghttp2_ssize tokenwire_nghttp2_ssize;
#else
#define TOKENWIRE_NGHTTP2_HAS_SSIZE 0
typedef ssize_t tokenwire_nghttp2_ssize;
#endif

/* The data source read callback, in the form both library versions accept. */
typedef tokenwire_nghttp2_ssize (*tokenwire_data_read_callback)(
    nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
    uint32_t *data_flags, nghttp2_data_source *source, void *user_data);

static inline tokenwire_nghttp2_ssize tokenwire_session_mem_recv(
    nghttp2_session *session, const uint8_t *in, size_t inlen) {
#if TOKENWIRE_NGHTTP2_HAS_SSIZE
    return nghttp2_session_mem_recv2(session, in, inlen);
#else
    return nghttp2_session_mem_recv(session, in, inlen);
#endif
}

static inline tokenwire_nghttp2_ssize tokenwire_session_mem_send(
    nghttp2_session *session, const uint8_t **data_ptr) {
#if TOKENWIRE_NGHTTP2_HAS_SSIZE
    return nghttp2_session_mem_send2(session, data_ptr);
#else
    return nghttp2_session_mem_send(session, data_ptr);
#endif
}

/* Submits a response; with a NULL callback the HEADERS frame ends the stream (trailers-only). */
static inline int tokenwire_submit_response(
    nghttp2_session *session, int32_t stream_id, const nghttp2_nv *nva, size_t nvlen,
    tokenwire_data_read_callback read_callback) {
#if TOKENWIRE_NGHTTP2_HAS_SSIZE
    nghttp2_data_provider2 provider;
    provider.source.ptr = NULL;
    provider.read_callback = read_callback;
    return nghttp2_submit_response2(session, stream_id, nva, nvlen,
                                    read_callback ? &provider : NULL);
#else
    nghttp2_data_provider provider;
    provider.source.ptr = NULL;
    provider.read_callback = read_callback;
    return nghttp2_submit_response(session, stream_id, nva, nvlen,
                                   read_callback ? &provider : NULL);
#endif
}

/* Submits a request whose body comes from the read callback; returns the stream id or an error. */
static inline int32_t tokenwire_submit_request(
    nghttp2_session *session, const nghttp2_nv *nva, size_t nvlen,
    tokenwire_data_read_callback read_callback) {
#if TOKENWIRE_NGHTTP2_HAS_SSIZE
    nghttp2_data_provider2 provider;
    provider.source.ptr = NULL;
    provider.read_callback = read_callback;
    return nghttp2_submit_request2(session, NULL, nva, nvlen,
                                   read_callback ? &provider : NULL, NULL);
#else
    nghttp2_data_provider provider;
    provider.source.ptr = NULL;
    provider.read_callback = read_callback;
    return nghttp2_submit_request(session, NULL, nva, nvlen,
                                  read_callback ? &provider : NULL, NULL);
#endif
}

#endif
