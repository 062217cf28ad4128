/* libarchive, loaded on first use; see archive-dl.c. */
#pragma once

/* Starts loading libarchive on another thread, for a caller that will need it shortly and
 * has other work until then; its first call waits for the load to finish. Best effort. */
void archive_dl_preload(void);
