<?php
// stepkit: the classes each PHP file declares, read with PHP's own tokenizer (token_get_all), so
// any valid layout maps (several statements on one line, attributes, comments). Reads one path per
// line on stdin; prints "path<TAB>Namespace\Class" per declared class, "path<TAB>!" for an
// unreadable file. Anonymous classes (`new class`) and `Foo::class` are not declarations.
$nameTokens = [T_STRING, T_NS_SEPARATOR];
foreach (['T_NAME_QUALIFIED', 'T_NAME_FULLY_QUALIFIED'] as $t) {
    if (defined($t)) {
        $nameTokens[] = constant($t);
    }
}
$skip = [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT];
while (($line = fgets(STDIN)) !== false) {
    $path = rtrim($line, "\r\n");
    if ($path === '') {
        continue;
    }
    $source = @file_get_contents($path);
    if ($source === false) {
        echo $path, "\t!\n";
        continue;
    }
    $tokens = token_get_all($source);
    $count = count($tokens);
    $namespace = '';
    for ($i = 0; $i < $count; $i++) {
        $token = $tokens[$i];
        if (!is_array($token)) {
            continue;
        }
        if ($token[0] === T_NAMESPACE) {
            $name = '';
            for ($j = $i + 1; $j < $count; $j++) {
                $next = $tokens[$j];
                if (is_array($next) && in_array($next[0], $nameTokens, true)) {
                    $name .= $next[1];
                } elseif (!(is_array($next) && in_array($next[0], $skip, true))) {
                    break;
                }
            }
            // `namespace\foo()` (a relative name in PHP 7) is not a declaration.
            if ($name === '' || $name[0] !== '\\') {
                $namespace = $name;
            }
            continue;
        }
        if ($token[0] !== T_CLASS) {
            continue;
        }
        $before = $i - 1;
        while ($before >= 0 && is_array($tokens[$before]) && in_array($tokens[$before][0], $skip, true)) {
            $before--;
        }
        if ($before >= 0 && is_array($tokens[$before]) && in_array($tokens[$before][0], [T_DOUBLE_COLON, T_NEW], true)) {
            continue;
        }
        for ($j = $i + 1; $j < $count; $j++) {
            $next = $tokens[$j];
            if (is_array($next) && in_array($next[0], $skip, true)) {
                continue;
            }
            if (is_array($next) && $next[0] === T_STRING) {
                echo $path, "\t", $namespace === '' ? $next[1] : $namespace . '\\' . $next[1], "\n";
            }
            break;
        }
    }
}
