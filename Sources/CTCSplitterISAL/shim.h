#ifndef CTCSPLITTER_ISAL_SHIM_H
#define CTCSPLITTER_ISAL_SHIM_H
/* Intel ISA-L erasure coding (Debian: libisal-dev). Swift calls these directly. */
#include <isa-l/erasure_code.h>
#endif
