"""system_library: a repository wrapping Debian-installed libraries, flags from pkg-config.

`system_library(name = "system_x", pkg_config = ["mod", ...])` creates `@system_x//:lib`, a
cc_library whose linkopts and defines are what `pkg-config --libs --cflags` prints for the modules.
Headers live in /usr/include, which the auto-configured toolchain already searches.
"""

def _pkg_config(ctx, flag):
    result = ctx.execute(["pkg-config", flag] + ctx.attr.pkg_config)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run tools/setup.sh to install the Debian packages): %s" %
             (flag, " ".join(ctx.attr.pkg_config), result.stderr))
    return result.stdout.strip().split(" ")

def _system_library_impl(ctx):
    linkopts = [f for f in _pkg_config(ctx, "--libs") if f] + ctx.attr.extra_linkopts
    defines = [f[2:] for f in _pkg_config(ctx, "--cflags") if f.startswith("-D")]
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD", """\
cc_library(
    name = "lib",
    defines = {defines},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(defines = repr(defines), linkopts = repr(linkopts)))

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "pkg_config": attr.string_list(mandatory = True),
        "extra_linkopts": attr.string_list(),
    },
    local = True,
)

def _system_tools_impl(ctx):
    for tool, path in ctx.attr.tools.items():
        if not ctx.path(path).exists:
            fail("%s not found at %s (run tools/setup.sh)" % (tool, path))
        ctx.symlink(path, tool)
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD", 'exports_files(%s, visibility = ["//visibility:public"])\n' %
                      repr(sorted(ctx.attr.tools.keys())))

# system_tools(name, tools = {"label": "/usr/bin/path"}): host programs as build tools.
system_tools = repository_rule(
    implementation = _system_tools_impl,
    attrs = {"tools": attr.string_dict(mandatory = True)},
    local = True,
)
