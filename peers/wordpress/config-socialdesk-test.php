<?php
/* Socialdesk's test WordPress (tests/peers_open.py): Debian's wp-config.php loads this file
 * when WORDPRESS_CONFIG is "socialdesk-test" (set by router.php and install.php). Everything
 * comes from the environment the test fixture starts PHP with, so several test runs on one
 * machine each have their own database, port and uploads folder. Never used for a real site. */
define('DB_NAME', getenv('SOCIALDESK_WP_DB_NAME') ?: 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '127.0.0.1:' . (getenv('SOCIALDESK_WP_DB_PORT') ?: '3307'));
define('WP_HOME', getenv('SOCIALDESK_WP_URL'));
define('WP_SITEURL', getenv('SOCIALDESK_WP_URL'));
define('WP_CONTENT_DIR', getenv('SOCIALDESK_WP_CONTENT_DIR'));
define('WP_CONTENT_URL', getenv('SOCIALDESK_WP_URL') . '/wp-content');
/* "local": Application Passwords over plain http on loopback. */
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
          'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $name) {
    define($name, getenv('SOCIALDESK_WP_SECRET') ?: 'socialdesk-test-only');
}
$table_prefix = 'wp_';
