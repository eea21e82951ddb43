/* The azure driver's response decoders on hostile responses (see fuzz_prov.h for the input
 * layout and the properties checked). */
#include "reconcile/base/compat.h"

#include "tests/fuzz/fuzz_prov.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_prov_one(PROV_AZURE, data, size);
	return 0;
}
