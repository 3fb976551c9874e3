/*
 * version.c — the library's version at run time (mf_version,
 * mf_version_number): the MF_VERSION_* macros of include/moonfeast.h as
 * they were when the library was built. The header is the one place the
 * version is written; the Makefile reads the SONAME's numbers from it.
 */
#include "moonfeast.h"

const char *mf_version(void) { return MF_VERSION_STRING; }

int mf_version_number(void) { return MF_VERSION_NUMBER; }
