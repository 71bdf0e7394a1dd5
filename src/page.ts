/** The page sizes (native/common/page.h has the same): the base page and the THP (PMD) size. */
export const PAGE_SIZE = 4096;
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;
