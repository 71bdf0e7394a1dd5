/** The page sizes (native/common/page.h has the same): the base page and the THP (PMD) size. */
export const PAGE_SIZE = 4096;
/** 2^20 bytes: the one constant for MiB (TypeScript side). */
export const MiB = 1024 * 1024;
export const HUGE_PAGE_SIZE = 2 * MiB;
