"""file-io: files, paths, temp files and directory walks on the loop (checklist 1.2A-C)."""

from asyncfix.catalog import Category, Doc, Rule, Types

FILE, PATH = "io.File", "pathlib.Path"
DIR_ENTRY, SCANDIR = "os.DirEntry", "os.ScandirIterator"
UPLOAD = "starlette.UploadFile"  # its `.file` is a SpooledTemporaryFile that rolls to disk

# Metadata (AF21x, so one prefix ignores them): whether a path exists and what it is, making
# directories, resolving symlinks. Cheap on a local disk, yet a stat on a slow mount all the same.
PATH_CHECKS = ("exists", "is_dir", "is_file", "is_mount", "is_symlink", "is_block_device",
               "is_char_device", "is_fifo", "is_socket", "is_junction")
OS_PATH_CHECKS = ("exists", "lexists", "isfile", "isdir", "islink", "ismount", "isjunction",
                  "isdevdrive")
PATH_IO_METHODS = (
    "stat", "lstat", "chmod", "lchmod", "iterdir", "glob", "rglob", "walk", "read_text",
    "read_bytes", "write_text", "write_bytes", "touch", "unlink", "rmdir", "rename", "replace",
    "symlink_to", "hardlink_to", "link_to", "readlink", "samefile", "owner", "group",
    "expanduser", "cwd", "home", "copy", "copy_into", "move", "move_into",
)
# Methods that only compute a new path: chained calls keep the Path type.
PATH_PURE_RESULTS = (
    "joinpath", "with_name", "with_stem", "with_suffix", "relative_to", "with_segments",
    "resolve", "absolute", "expanduser", "cwd", "home", "rename", "replace",
)
FILE_METHODS = ("read", "read1", "readall", "readinto", "readline", "readlines", "write",
                "writelines", "flush", "truncate", "close")  # close flushes what was written
OS_FILE_OPS = (
    "remove", "unlink", "rename", "renames", "replace", "rmdir",
    "removedirs", "listdir", "scandir", "walk", "fwalk", "stat", "lstat", "fstat", "chmod",
    "lchmod", "chown", "lchown", "link", "symlink", "readlink", "access", "getcwd", "getcwdb",
    "statvfs", "fstatvfs", "sendfile", "read", "write", "pread", "pwrite", "readv", "writev",
    "truncate", "ftruncate", "utime", "fsync", "fdatasync", "copy_file_range", "mkfifo", "mknod",
    "open",
)
# os.path functions that never touch the file system: path arithmetic (abspath and relpath read
# only the process's working directory, which the kernel holds in memory).
OS_PATH_PURE = (
    "join", "basename", "dirname", "split", "splitext", "splitdrive", "splitroot", "normcase",
    "isabs", "commonpath", "commonprefix", "expandvars", "fspath", "abspath", "relpath",
    "normpath", "_path_normpath", "_path_abspath",
) + OS_PATH_CHECKS + ("realpath",)  # the checks and realpath have codes of their own

CATEGORY = Category(
    name="file-io",
    section="1.2A-C",
    title="Synchronous file I/O",
    doc=Doc(
        what="Flags `open`/`io.open`, methods of the file objects they return, pathlib I/O "
        "methods (`read_text`, `exists`, `glob`, ...), `os` file operations (`remove`, `listdir`, "
        "`stat`, `walk`, ...), `os.path` calls that stat the disk (`exists`, `getsize`, ...), "
        "`shutil.*`, `tempfile.*` and `glob` inside `async def`. File metadata has codes of its "
        "own, all starting `AF21`, so a team can ignore it in one word: existence and type checks "
        "(`os.path.exists/isfile/isdir`, `Path.exists/is_file`: AF210), making directories "
        "(`os.makedirs`, `os.mkdir`, `Path.mkdir`: AF211), resolving symlinks (`Path.resolve`, "
        "`os.path.realpath`: AF212). Path arithmetic that never touches the disk "
        "(`os.path.join/abspath/relpath/normpath`, `Path.absolute`, `/`) is not reported.",
        why="Disk I/O takes 10-500 ms on network mounts and busy disks; checkpoint files of 10 MB+ "
        "take longer. The loop waits for every byte.",
        example="async def save_checkpoint(data: str, path: str):\n"
        "    with open(path, 'w') as f:\n"
        "        f.write(data)",
        instead="Put the whole open/read/write block in a module-level sync helper and "
        "`await asyncio.to_thread(_save_checkpoint_sync, data, path)`; one thread hop for the "
        "block, not one per call.",
        fix_safety="Safe: the same calls run in a worker thread in the same order; file objects "
        "are created and closed inside the helper. A block that also writes shared state, uses "
        "asyncio objects or context variables, or binds names a handler reads if it fails stays "
        "on the loop, and its calls are awaited in a thread one by one.",
    ),
    rules=(
        Rule(
            code="AF201",
            message="`{name}` opens a file on the event loop",
            functions=("open", "io.open", "io.open_code", "codecs.open", "os.fdopen", "gzip.open",
                       "bz2.open", "lzma.open"),
            methods={PATH: ("open",)},
            upstream=("ASYNC230", "ASYNC231"),
        ),
        Rule(
            code="AF202",
            message="`{name}` reads or writes a file on the event loop",
            methods={FILE: FILE_METHODS},
            upstream=("ASYNC232",),
        ),
        Rule(
            code="AF203",
            message="`{name}` touches the file system on the event loop",
            methods={PATH: PATH_IO_METHODS},
            upstream=("ASYNC240",),
        ),
        Rule(
            code="AF204",
            message="`{name}` is a file system call on the event loop",
            functions=tuple(f"os.{fn}" for fn in OS_FILE_OPS),
        ),
        Rule(
            # is_file()/is_dir() come from the directory listing; stat() is a system call on POSIX
            code="AF205",
            message="`{name}` stats the file system on the event loop",
            methods={DIR_ENTRY: ("stat",)},
        ),
        Rule(
            code="AF205",
            message="`{name}` stats the file system on the event loop",
            functions=("os.path.*",),
            exclude=OS_PATH_PURE,
            upstream=("ASYNC240",),
        ),
        Rule(
            code="AF206",
            message="`{name}` copies or removes files on the event loop",
            functions=("shutil.*",),
            exclude=("get_terminal_size", "register_archive_format", "unregister_archive_format",
                     "register_unpack_format", "unregister_unpack_format", "get_archive_formats",
                     "get_unpack_formats", "Error", "SameFileError", "ReadError",
                     "RegistryError", "SpecialFileError", "ExecError"),
        ),
        Rule(
            code="AF207",
            message="`{name}` creates a temporary file or directory on the event loop",
            functions=("tempfile.*",),
            exclude=("gettempprefix", "gettempprefixb"),
            methods={"tempfile.TemporaryDirectory": ("cleanup",)},
        ),
        Rule(
            code="AF208",
            message="`{name}` walks the file system on the event loop",
            functions=("glob.glob", "glob.iglob"),
        ),
        Rule(
            code="AF210",
            message="`{name}` checks a path on the event loop",
            functions=tuple(f"os.path.{fn}" for fn in OS_PATH_CHECKS),
            methods={PATH: PATH_CHECKS},
            upstream=("ASYNC240",),
        ),
        Rule(
            code="AF211",
            message="`{name}` creates a directory on the event loop",
            functions=("os.mkdir", "os.makedirs"),
            methods={PATH: ("mkdir",)},
            upstream=("ASYNC240",),  # flake8-async's rule covers Path.mkdir
        ),
        Rule(
            code="AF212",
            message="`{name}` resolves a path on the event loop",
            functions=("os.path.realpath", "os.path._joinrealpath"),
            methods={PATH: ("resolve",)},
            upstream=("ASYNC240",),
        ),
    ),
    types=Types(
        returns={
            **{fn: FILE for fn in ("open", "io.open", "io.open_code", "codecs.open", "os.fdopen",
                                   "gzip.open", "bz2.open", "lzma.open",
                                   "tempfile.NamedTemporaryFile", "tempfile.TemporaryFile",
                                   "tempfile.SpooledTemporaryFile", f"{PATH}.open")},
            "tempfile.TemporaryDirectory": "tempfile.TemporaryDirectory",
            **{ctor: PATH for ctor in ("pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath")},
            **{f"{PATH}.{m}": PATH for m in PATH_PURE_RESULTS + ("__truediv__",)},
            **{f"{PATH}.{m}": "pathlib.Paths" for m in ("iterdir", "glob", "rglob")},
            "os.scandir": SCANDIR,
        },
        attributes={f"{PATH}.parent": PATH, f"{PATH}.parents": f"[{PATH}]", f"{UPLOAD}.file": FILE},
        items={"pathlib.Paths": PATH, SCANDIR: DIR_ENTRY},
        enters={"tempfile.TemporaryDirectory": ""},  # `with TemporaryDirectory() as d`: d is a str
        annotations={
            "pathlib.PosixPath": PATH, "pathlib.WindowsPath": PATH, "os.DirEntry": DIR_ENTRY,
            **{t: UPLOAD for t in ("fastapi.UploadFile", "fastapi.datastructures.UploadFile",
                                   "starlette.datastructures.UploadFile")},
            **{t: FILE for t in ("io.TextIOWrapper", "io.BufferedReader", "io.BufferedWriter",
                                 "io.BufferedRandom", "io.FileIO", "typing.IO", "typing.TextIO",
                                 "typing.BinaryIO", "io.TextIOBase", "io.BufferedIOBase")},
        },
    ),
)
