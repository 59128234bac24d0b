# The Debian package: `cpack -G DEB` in a build tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr (deploy/debian/build-deb.sh does all of it,
# with dpkg-buildflags' hardening flags). Included from the top CMakeLists.
#
#   /usr/sbin/bookto-moneybird                  daemon and operator commands (man 8)
#   /usr/share/bookto-moneybird/                migrations, mappings, postgres-setup.sql,
#                                               nginx site, Prometheus alert rules
#   /etc/bookto-moneybird/connector.cfg         conffile (from config.example.cfg)
#   /etc/logrotate.d/bookto-moneybird           conffile (SIGHUP reopens log.file)
#   /lib/systemd/system/bookto-moneybird.service
#   /usr/lib/sysusers.d, /usr/lib/tmpfiles.d    the system user, the state and log folders
#   /usr/share/man/man8/bookto-moneybird.8.gz
#   /usr/share/doc/bookto-moneybird/            copyright, changelog.Debian.gz, guides
set(BM_DEBIAN_DIR ${PROJECT_SOURCE_DIR}/deploy/debian)
set(BM_DEB_GZ_DIR ${PROJECT_BINARY_DIR}/debian-gz)

# Man page and changelog are installed gzip -9n compressed (no name, no
# time stamp in the header: reproducible, and what lintian asks for).
find_program(BM_GZIP gzip REQUIRED)
set(BM_DEB_GZ_FILES)
foreach(pair "docs/bookto-moneybird.8|bookto-moneybird.8.gz"
             "deploy/debian/changelog|changelog.Debian.gz")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 source)
  list(GET pair 1 target)
  add_custom_command(OUTPUT ${BM_DEB_GZ_DIR}/${target}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${BM_DEB_GZ_DIR}
    COMMAND ${BM_GZIP} -9n -c ${PROJECT_SOURCE_DIR}/${source} > ${BM_DEB_GZ_DIR}/${target}
    DEPENDS ${PROJECT_SOURCE_DIR}/${source} VERBATIM)
  list(APPEND BM_DEB_GZ_FILES ${BM_DEB_GZ_DIR}/${target})
endforeach()
add_custom_target(debian_gz ALL DEPENDS ${BM_DEB_GZ_FILES})

set(BM_SHARE ${CMAKE_INSTALL_DATADIR}/bookto-moneybird)
install(FILES ${BM_DEB_GZ_DIR}/bookto-moneybird.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${BM_DEB_GZ_DIR}/changelog.Debian.gz ${BM_DEBIAN_DIR}/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
        RENAME operations.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/mapping.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/postgres-setup.sql DESTINATION ${BM_SHARE})
install(FILES ${PROJECT_SOURCE_DIR}/deploy/nginx-bookto-moneybird.conf DESTINATION ${BM_SHARE}/nginx
        RENAME bookto-moneybird.conf)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/alerts.yml DESTINATION ${BM_SHARE}/prometheus)
install(FILES ${BM_DEBIAN_DIR}/sysusers.conf DESTINATION lib/sysusers.d RENAME bookto-moneybird.conf)
install(FILES ${BM_DEBIAN_DIR}/tmpfiles.conf DESTINATION lib/tmpfiles.d RENAME bookto-moneybird.conf)
install(FILES ${BM_DEBIAN_DIR}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME bookto-moneybird)
# Absolute destinations: outside the /usr prefix on purpose (Debian's paths).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/bookto-moneybird.service DESTINATION /lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/config.example.cfg DESTINATION /etc/bookto-moneybird
        RENAME connector.cfg PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${BM_DEBIAN_DIR}/logrotate DESTINATION /etc/logrotate.d RENAME bookto-moneybird)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME bookto-moneybird)
set(CPACK_PACKAGE_VENDOR bookto)
set(CPACK_PACKAGE_CONTACT "bookto operations <ops@bookto.eu>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "books paid bookto orders into Moneybird")
# The extended description (CPack prefixes the summary and indents it).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "A daemon that verifies bookto's signed order.paid webhooks, stores them
durably in PostgreSQL and creates the contact, invoice and payment in
Moneybird exactly once, with an append-only audit log, reconciliation,
Prometheus metrics and operator commands (status, show, retry, replay).")
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/bookto/bookto-moneybird")
# Library dependencies come from dpkg-shlibdeps; adduser is the postinst's
# fallback when systemd-sysusers is not there.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client, logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, nginx, prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${BM_DEBIAN_DIR}/conffiles ${BM_DEBIAN_DIR}/postinst ${BM_DEBIAN_DIR}/prerm
  ${BM_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_IGNORE_FILES "/build.*/" "/\\\\.git/")
include(CPack)
