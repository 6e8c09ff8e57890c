<?php
// What composer's vendor/autoload.php would give ParaTest, from Debian's packages instead:
// PHPUnit 9 (with php-code-coverage, sebastian/*), symfony/console and symfony/process, ParaTest's
// own classes from its src/, and stand-ins for its two tiny dependencies that Debian lacks.
// run.sh copies this file to <paratest copy>/vendor/autoload.php; ParaTest's bin/paratest and
// bin/phpunit-wrapper.php look for it there.
require_once '/usr/share/php/PHPUnit/Autoload.php';
require_once '/usr/share/php/Symfony/Component/Console/autoload.php';
require_once '/usr/share/php/Symfony/Component/Process/autoload.php';
require_once __DIR__ . '/shims.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'ParaTest\\', 9) !== 0) {
        return;
    }
    $file = dirname(__DIR__) . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
