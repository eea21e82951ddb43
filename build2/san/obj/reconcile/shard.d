build2/san/obj/reconcile/shard.o: reconcile/shard.c \
 reconcile/base/compat.h reconcile/base/banned.h reconcile/shard.h \
 reconcile/base/diag.h
reconcile/base/compat.h:
reconcile/base/banned.h:
reconcile/shard.h:
reconcile/base/diag.h:
