/* ErrorDetail; see error-detail.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error-detail.h"

int error_detail_set(ErrorDetail *d, int r, const char *field, const char *format, ...) {
        va_list ap;

        if (!d)
                return r;
        snprintf(d->field, sizeof(d->field), "%s", field ? field : "");
        va_start(ap, format);
        vsnprintf(d->reason, sizeof(d->reason), format, ap);
        va_end(ap);
        return r;
}
