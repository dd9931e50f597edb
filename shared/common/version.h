/*
 * version.h: the software version every Medusa program reports
 * (--version, the worker's READY message, /status).
 */
#ifndef MEDUSA_VERSION_H
#define MEDUSA_VERSION_H

#ifndef MEDUSA_VERSION
#define MEDUSA_VERSION "0.1.0"
#endif

#endif
