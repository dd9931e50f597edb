/*
 * main.c: the unit test runner: every module's suite in one SRunner.
 * Exits 0 only if every test passed.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
	Suite *(*const suites[])(void) = {
		addrcount_suite, buf_suite, utf8_suite, wsframe_suite, httphead_suite,
		wshandshake_suite, httpresp_suite, route_suite, shard_suite,
		proto_suite, promtext_suite, ctlchan_suite, config_suite, mlog_suite, wsurl_suite,
		fdpass_suite, netutil_suite, paths_suite, sdnotify_suite, token_suite, hop_suite,
		credentials_suite,
		xport_suite, wsclient_suite, clientopt_suite, mlproto_suite,
		start_suite, escape_suite, conn_suite, resume_suite
	};
	SRunner *sr;
	int failed;

	sr = srunner_create(NULL);
	for (size_t i = 0; i < NELEM(suites); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
