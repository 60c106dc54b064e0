#ifndef UNIBUS_CNATS_SHIM_H
#define UNIBUS_CNATS_SHIM_H
// The one C header unibus sees: nats.c 3.4.1 from Debian's libnats-dev.
#include <nats/nats.h>
#endif
