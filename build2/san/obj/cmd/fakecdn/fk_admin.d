build2/san/obj/cmd/fakecdn/fk_admin.o: cmd/fakecdn/fk_admin.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_admin.h \
 cmd/fakecdn/fk_app.h cmd/fakecdn/fk_http.h cmd/fakecdn/fk_state.h \
 reconcile/base/diag.h cmd/fakecdn/fk_arm.h cmd/fakecdn/fk_china.h \
 cmd/fakecdn/fk_util.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_admin.h:
cmd/fakecdn/fk_app.h:
cmd/fakecdn/fk_http.h:
cmd/fakecdn/fk_state.h:
reconcile/base/diag.h:
cmd/fakecdn/fk_arm.h:
cmd/fakecdn/fk_china.h:
cmd/fakecdn/fk_util.h:
