/*
 * suites.h: one check suite per module of shared/ (and per pure module of
 * the programs: agent/start.c, client/escape.c, client/conn.c), and small
 * helpers the test files share.
 */
#ifndef MEDUSA_TEST_SUITES_H
#define MEDUSA_TEST_SUITES_H

#include <check.h>

#define	NELEM(a)	(sizeof (a) / sizeof ((a)[0]))
/* A byte-string literal with its length (it may hold NUL bytes). */
#define	BYTES(s)	(const uint8_t *)(s), (sizeof (s) - 1)

Suite *addrcount_suite(void);
Suite *buf_suite(void);
Suite *clientopt_suite(void);
Suite *conn_suite(void);
Suite *config_suite(void);
Suite *credentials_suite(void);
Suite *ctlchan_suite(void);
Suite *fdpass_suite(void);
Suite *httphead_suite(void);
Suite *escape_suite(void);
Suite *httpresp_suite(void);
Suite *mlog_suite(void);
Suite *netutil_suite(void);
Suite *paths_suite(void);
Suite *mlproto_suite(void);
Suite *proto_suite(void);
Suite *promtext_suite(void);
Suite *resume_suite(void);
Suite *route_suite(void);
Suite *sdnotify_suite(void);
Suite *shard_suite(void);
Suite *start_suite(void);
Suite *hop_suite(void);
Suite *token_suite(void);
Suite *utf8_suite(void);
Suite *wsframe_suite(void);
Suite *wshandshake_suite(void);
Suite *wsclient_suite(void);
Suite *wsurl_suite(void);
Suite *xport_suite(void);

#endif
