/*
 * The admin surface under /_fakecdn/ (no authentication; the server listens on loopback
 * only): read the state, change endpoints as a console user would, set fault knobs, reset.
 */
#ifndef FK_ADMIN_H
#define FK_ADMIN_H

#include "cmd/fakecdn/fk_app.h"

extern const struct fk_route fk_admin_routes[];
extern const size_t fk_admin_nroutes;

#endif
