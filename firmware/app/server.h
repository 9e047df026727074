/* What extensions of the protocol server (pipeline/pipeline_server.c) use to answer requests
 * and send events. The server handles requests one at a time; an extension writes its reply
 * into mf_server_payload() after any events it sends. */
#ifndef MCUFORGE_SERVER_H
#define MCUFORGE_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* The outgoing payload buffer: a reply's status byte at [0], its data from [1]; an event's
 * payload from [0]. MF_MAX_PAYLOAD bytes. */
uint8_t *mf_server_payload(void);

/* Sends a reply to request `cmd` with `status` and data_len bytes from mf_server_payload() + 1. */
void mf_server_reply(uint8_t cmd, uint8_t seq, uint8_t status, size_t data_len);

/* Sends an event frame (code 0xC0-0xCF) with len bytes from mf_server_payload(). */
void mf_server_event(uint8_t code, size_t len);

/* Extensions: requests the server does not know go here (return 0 when not handled: the server
 * answers "unknown command"); mcuforge_background() runs in the main loop before each sleep.
 * Both are weak no-ops unless an extension is linked. */
int mcuforge_extension(uint8_t cmd, uint8_t seq, const uint8_t *in, size_t len);
void mcuforge_background(void);

#endif
