<?php
/* Install WordPress into the (empty) test database and print an Application Password for
 * its administrator: php install.php USER PASSWORD, with the environment of router.php. */
$_SERVER['WORDPRESS_CONFIG'] = 'socialdesk-test';
$_SERVER['HTTP_HOST'] = parse_url(getenv('SOCIALDESK_WP_URL'), PHP_URL_HOST);
define('WP_INSTALLING', true);
/* No mail from a test install (Debian has no sendmail here). */
function wp_mail() { return true; }
require '/usr/share/wordpress/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$result = wp_install('Socialdesk test blog', $argv[1], $argv[1] . '@example.com', true, '', $argv[2]);
update_option('permalink_structure', '');
[$password] = WP_Application_Passwords::create_new_application_password(
    $result['user_id'], ['name' => 'socialdesk']
);
echo $password, "\n";
