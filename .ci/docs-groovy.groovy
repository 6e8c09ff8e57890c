// Every Groovy snippet a user may copy must parse: the ```groovy blocks of README.md and docs/*.md, the
// Jenkins library's vars and the example Jenkinsfile. Parsing is Groovy's own compiler up to class
// generation; Jenkins steps are method calls, which resolve at run time. `@Library('x') _` is Jenkins'
// loader syntax (an annotation Jenkins provides), so it is dropped before parsing.
// Usage: groovy .ci/docs-groovy.groovy REPO_ROOT
File root = new File(args[0])
def sources = [:]
([new File(root, 'README.md')] + (new File(root, 'docs').listFiles().findAll { it.name.endsWith('.md') }.sort())).each { f ->
    def m = f.text =~ /(?s)```groovy\n(.*?)```/
    m.eachWithIndex { match, i -> sources["${f.name} snippet ${i + 1}"] = match[1] }
}
(new File(root, 'jenkins/vars').listFiles().findAll { it.name.endsWith('.groovy') } + [new File(root, 'jenkins/Jenkinsfile.example')]).each {
    sources[it.path - root.path] = it.text
}
int bad = 0
sources.each { name, text ->
    try {
        new GroovyShell().parse(text.replaceAll(/@Library\([^)]*\)\s*_/, ''), 'Snippet.groovy')
    } catch (org.codehaus.groovy.control.CompilationFailedException e) {
        println("${name}: ${e.message}")
        bad++
    }
}
println("groovy: ${sources.size()} snippets and files parsed, ${bad} failed")
System.exit(bad ? 1 : 0)
