/** The library version sent in `context.library`; a test keeps it equal to package.json's. */
export const VERSION = '0.1.0';
