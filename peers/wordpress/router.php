<?php
/* The PHP built-in server's router for the test WordPress: uploads are served from the test's
 * content folder, every other path goes to WordPress under /usr/share/wordpress. */
$_SERVER['WORDPRESS_CONFIG'] = 'socialdesk-test';
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if (strpos($path, '/wp-content/') === 0) {
    $file = getenv('SOCIALDESK_WP_CONTENT_DIR') . substr($path, strlen('/wp-content'));
    if (strpos(realpath($file) ?: '', realpath(getenv('SOCIALDESK_WP_CONTENT_DIR'))) === 0
        && is_file($file)) {
        header('Content-Type: ' . mime_content_type($file));
        readfile($file);
        return true;
    }
    http_response_code(404);
    return true;
}
if ($path !== '/' && is_file('/usr/share/wordpress' . $path)) {
    return false; /* a static file or a PHP entry point of WordPress itself */
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
require '/usr/share/wordpress/index.php';
