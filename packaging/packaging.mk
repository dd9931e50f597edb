# Installing and packaging.  Included by the top Makefile.
#
#   make install     install what building needs (tools/deps.sh run),
#                    build, and install into $(DESTDIR)$(PREFIX) (FHS):
#                      BINDIR      medusa, medusactl, mlogin, medusa-agent
#                      LIBEXECDIR/medusa/medusa-worker
#                      SYSCONFDIR/medusa/medusa.json (kept if already
#                                  there) and SYSCONFDIR/medusa/keys/
#                      MANDIR/man{1,5,8}/   the manual pages (docs/man/)
#                      UNITDIR/medusa.service
#   make uninstall   remove what install put there (keys/ only if empty)
#   make deb         build-deb/medusa-reflector_VERSION_ARCH.deb, a Debian
#                    12 package (dpkg-deb; packaging/debian/ has its
#                    control file, maintainer scripts, copyright and
#                    changelog)
#   make deb-build   the same without installing build dependencies
#   make deb-lint    lintian on it
#
# PREFIX defaults to /usr/local.  SYSCONFDIR is /etc when PREFIX is /usr
# and $(PREFIX)/etc otherwise; UNITDIR /lib/systemd/system or
# $(PREFIX)/lib/systemd/system likewise.  Each may be set on its own.
#
# The installed medusa and medusactl must find /etc/medusa/medusa.json and
# the installed worker without being told: they are built a second time
# (supervisor/ and ctl/ only, into $(BUILD)/inst/) with those paths
# compiled in (shared/server/paths.h); bin/ keeps the in-tree defaults.
# The installed configuration is etc/medusa.json with what a system install
# wants instead of a developer's: the admin socket in systemd's
# RuntimeDirectory (/run/medusa), the medusa user, and the deployment's
# secret (resume tokens) in /var/lib/medusa (StateDirectory), which the
# reflector makes on its first start.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
LIBEXECDIR	?= $(PREFIX)/libexec
MANDIR		?= $(PREFIX)/share/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR	?= /etc
LOCALSTATEDIR	?= /var
UNITDIR		?= /lib/systemd/system
else
SYSCONFDIR	?= $(PREFIX)/etc
LOCALSTATEDIR	?= $(PREFIX)/var
UNITDIR		?= $(PREFIX)/lib/systemd/system
endif
RUNSTATEDIR	?= /run

INST		:= $(BUILD)/inst
INST_CONFIG	:= $(SYSCONFDIR)/medusa/medusa.json
INST_WORKER	:= $(LIBEXECDIR)/medusa/medusa-worker
INST_DEFS	:= -DMEDUSA_CONFIG_PATH='"$(INST_CONFIG)"' \
		   -DMEDUSA_WORKER_PATH='"$(INST_WORKER)"' \
		   -DMEDUSA_ADMIN_SOCKET='"$(RUNSTATEDIR)/medusa/medusa.sock"'
MAN_PAGES	:= $(wildcard docs/man/*.[158])

.PHONY: install install-files uninstall deb deb-build deb-lint FORCE

# The compiled-in paths: rewritten only when they change, so that a change
# rebuilds what uses them and nothing else.
$(INST)/paths: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' '$(INST_CONFIG)' '$(INST_WORKER)' '$(RUNSTATEDIR)' | \
	    cmp -s - $@ || printf '%s\n' '$(INST_CONFIG)' '$(INST_WORKER)' \
	    '$(RUNSTATEDIR)' > $@

$(INST)/%.o: %.c $(INST)/paths
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ishared/server $(INST_DEFS) $(CFLAGS) -c -o $@ $<

$(INST)/bin/medusa: $(patsubst %.c,$(INST)/%.o,$(SUP_SRC)) $(SERVER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(INST)/bin/medusactl: $(patsubst %.c,$(INST)/%.o,$(CTL_SRC)) $(SERVER_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(INST)/medusa.json: etc/medusa.json $(INST)/paths
	@mkdir -p $(@D)
	sed -e 's|"user": "[^"]*"|"admin_socket": "$(RUNSTATEDIR)/medusa/medusa.sock",\n\t"user": "medusa"|' \
	    -e 's|"keys_dir": "[^"]*"|"keys_dir": "$(SYSCONFDIR)/medusa/keys"|' \
	    -e 's|"secret_file": "[^"]*"|"secret_file": "$(LOCALSTATEDIR)/lib/medusa/secret"|' \
	    $< > $@
	@grep -q '"user": "medusa"' $@ || { echo "$<: no user line to set" \
	    "to medusa" >&2; rm -f $@; exit 1; }

# The unit names /usr/bin/medusa and /etc/medusa/: moved with the prefix.
$(INST)/medusa.service: etc/medusa.service $(INST)/paths
	@mkdir -p $(@D)
	sed -e 's|/usr/bin/medusa|$(BINDIR)/medusa|g' \
	    -e 's|/etc/medusa/|$(SYSCONFDIR)/medusa/|g' $< > $@

D := $(DESTDIR)

install: deps-run
	@$(MAKE) --no-print-directory install-files

install-files: $(INST)/bin/medusa $(INST)/bin/medusactl $(BIN)/medusa-worker \
    $(BIN)/mlogin $(BIN)/medusa-agent $(INST)/medusa.json \
    $(INST)/medusa.service $(MAN_PAGES)
	install -d $(D)$(BINDIR) $(D)$(LIBEXECDIR)/medusa \
	    $(D)$(SYSCONFDIR)/medusa/keys $(D)$(UNITDIR) \
	    $(D)$(MANDIR)/man1 $(D)$(MANDIR)/man5 $(D)$(MANDIR)/man8
	install -m 0755 $(INST)/bin/medusa $(INST)/bin/medusactl \
	    $(BIN)/mlogin $(BIN)/medusa-agent $(D)$(BINDIR)/
	install -m 0755 $(BIN)/medusa-worker $(D)$(LIBEXECDIR)/medusa/
	@if [ -e $(D)$(SYSCONFDIR)/medusa/medusa.json ]; then \
	    echo "install: kept $(D)$(SYSCONFDIR)/medusa/medusa.json" \
	        "(the new default is $(INST)/medusa.json)"; \
	else \
	    echo install -m 0644 $(INST)/medusa.json \
	        $(D)$(SYSCONFDIR)/medusa/medusa.json; \
	    install -m 0644 $(INST)/medusa.json \
	        $(D)$(SYSCONFDIR)/medusa/medusa.json; \
	fi
	install -m 0644 $(INST)/medusa.service $(D)$(UNITDIR)/
	install -m 0644 $(filter %.1,$(MAN_PAGES)) $(D)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(D)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(D)$(MANDIR)/man8/

uninstall:
	rm -f $(addprefix $(D)$(BINDIR)/,medusa medusactl mlogin medusa-agent)
	rm -f $(D)$(INST_WORKER) $(D)$(INST_CONFIG) $(D)$(UNITDIR)/medusa.service
	rm -f $(addprefix $(D)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MAN_PAGES))))
	rm -f $(addprefix $(D)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MAN_PAGES))))
	rm -f $(addprefix $(D)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MAN_PAGES))))
	-rmdir $(D)$(LIBEXECDIR)/medusa
	rm -f $(D)$(LOCALSTATEDIR)/lib/medusa/secret
	@rmdir $(D)$(LOCALSTATEDIR)/lib/medusa 2>/dev/null || true
	@rmdir $(D)$(SYSCONFDIR)/medusa/keys 2>/dev/null || \
	    { [ ! -d $(D)$(SYSCONFDIR)/medusa/keys ] || echo "uninstall: kept" \
	    "$(D)$(SYSCONFDIR)/medusa/keys: it holds keys"; }
	@rmdir $(D)$(SYSCONFDIR)/medusa 2>/dev/null || true

# --- the Debian package ------------------------------------------------------
#
# Built as debhelper would lay it out, without debhelper: the programs are
# compiled afresh in build-deb/ with Debian's hardening flags
# (dpkg-buildflags), installed with PREFIX=/usr into the package's tree,
# stripped; dpkg-shlibdeps names the shared libraries' packages,
# dpkg-gencontrol writes the control file, dpkg-deb builds the archive with
# every file owned by root.  The static agent ships too, stripped, as
# /usr/lib/medusa/medusa-agent-static: a file that operators copy into
# jobs on other machines, not a program to run here, so it goes with the
# reflector that its users install rather than in a package of its own.
# The package is medusa-reflector: Debian has a "medusa" (a brute-forcer)
# that also installs /usr/bin/medusa; the control file declares the
# conflict.

DEB_NAME	:= medusa-reflector
DEB_DIR		:= build-deb
DEB_SRC		:= $(DEB_DIR)/src
DEB_ROOT	:= $(DEB_SRC)/debian/$(DEB_NAME)
DEB_VERSION	= $(shell dpkg-parsechangelog -l packaging/debian/changelog -S Version)
DEB_ARCH	= $(shell dpkg --print-architecture)
DEB_FILE	= $(DEB_DIR)/$(DEB_NAME)_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_DOC		:= $(DEB_ROOT)/usr/share/doc/$(DEB_NAME)
DEB_ELF		:= usr/bin/medusa usr/bin/medusactl usr/bin/mlogin \
		   usr/bin/medusa-agent usr/libexec/medusa/medusa-worker
DEB_STATIC	:= usr/lib/medusa/medusa-agent-static

deb: deps-run
	@$(MAKE) --no-print-directory deb-build

deb-build:
	@v=$$(sed -n 's/^#define MEDUSA_VERSION "\(.*\)"/\1/p' \
	    shared/common/version.h); \
	if [ "$$v" != "$(DEB_VERSION)" ]; then \
	    echo "deb: packaging/debian/changelog is at $(DEB_VERSION)," \
	        "shared/common/version.h at $$v" >&2; exit 1; fi
	rm -rf $(DEB_SRC)
	mkdir -p $(DEB_ROOT)/DEBIAN
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all && \
	    eval "$$(dpkg-buildflags --export=sh)" && \
	    $(MAKE) --no-print-directory SAN=0 BUILD=$(DEB_DIR)/build \
	    BIN=$(DEB_DIR)/bin PREFIX=/usr DESTDIR=$(CURDIR)/$(DEB_ROOT) \
	    install-files agent-static
	install -D -m 0755 $(DEB_DIR)/bin/medusa-agent-static \
	    $(DEB_ROOT)/$(DEB_STATIC)
	cd $(DEB_ROOT) && strip --remove-section=.comment \
	    --remove-section=.note $(DEB_ELF) $(DEB_STATIC)
	gzip -9n $(DEB_ROOT)/usr/share/man/man*/*
	install -d $(DEB_DOC) $(DEB_ROOT)/usr/share/lintian/overrides
	install -m 0644 packaging/debian/copyright $(DEB_DOC)/
	gzip -9nc packaging/debian/changelog > $(DEB_DOC)/changelog.gz
	gzip -9nc README.md > $(DEB_DOC)/README.md.gz
	gzip -9nc docs/PROTOCOL.md > $(DEB_DOC)/PROTOCOL.md.gz
	install -m 0644 packaging/debian/lintian-overrides \
	    $(DEB_ROOT)/usr/share/lintian/overrides/$(DEB_NAME)
	install -m 0755 packaging/debian/postinst packaging/debian/prerm \
	    packaging/debian/postrm $(DEB_ROOT)/DEBIAN/
	install -m 0644 packaging/debian/conffiles $(DEB_ROOT)/DEBIAN/
	cp packaging/debian/control packaging/debian/changelog $(DEB_SRC)/debian/
	cd $(DEB_SRC) && dpkg-shlibdeps -Tdebian/$(DEB_NAME).substvars \
	    $(addprefix debian/$(DEB_NAME)/,$(DEB_ELF)) && \
	    dpkg-gencontrol -p$(DEB_NAME) -Tdebian/$(DEB_NAME).substvars \
	    -Pdebian/$(DEB_NAME)
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -type f -printf \
	    '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum > DEBIAN/md5sums
	chmod 0644 $(DEB_ROOT)/DEBIAN/md5sums
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB_FILE)
	@ls -l $(DEB_FILE)

deb-lint: deb
	lintian --info --display-info $(DEB_FILE)

-include $(shell find $(DEB_DIR) -name '*.d' 2>/dev/null)
