build2/san/obj/cmd/fakecdn/fk_util.o: cmd/fakecdn/fk_util.c \
 reconcile/base/compat.h reconcile/base/banned.h cmd/fakecdn/fk_util.h \
 reconcile/base/xmem.h
reconcile/base/compat.h:
reconcile/base/banned.h:
cmd/fakecdn/fk_util.h:
reconcile/base/xmem.h:
