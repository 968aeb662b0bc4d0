import Foundation
import NIOCore
import NIOPosix
import TokenwireProcess
import TokenwireTestSupport

/// A real nginx for one test, needing no root: its own prefix directory (configuration,
/// pid file, logs, temporary files), in the foreground with a master and two workers.
struct NginxProcess: Sendable {
    let process: ChildProcess
    /// The prefix directory; the logs are in it.
    let directory: URL
    let port: Int

    /// The nginx binary: on PATH, else where Debian puts it; nil when nginx is not installed.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/nginx" } + ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// The main error log (start-up, shutdown, what the configuration logs nowhere else).
    var errorLog: String { (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? "" }

    /// Starts nginx with `httpConfiguration` as the body of its `http {}` block, and waits
    /// (at most 30 s) until `port` accepts connections.
    static func start(httpConfiguration: String, port: Int, in directory: URL) async throws -> NginxProcess {
        guard let executable else { throw NginxFailed(message: "nginx is not installed") }
        let temp = directory.appendingPathComponent("temp").path
        let main = """
            daemon off;
            master_process on;
            worker_processes 2;
            pid \(directory.path)/nginx.pid;
            error_log \(directory.path)/error.log notice;
            events { worker_connections 1024; }
            http {
                client_body_temp_path \(temp)/client_body;
                proxy_temp_path \(temp)/proxy;
                fastcgi_temp_path \(temp)/fastcgi;
                uwsgi_temp_path \(temp)/uwsgi;
                scgi_temp_path \(temp)/scgi;
                include \(directory.path)/tokenwire-grpc.conf;
            }

            """
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        try httpConfiguration.write(to: directory.appendingPathComponent("tokenwire-grpc.conf"), atomically: true, encoding: .utf8)
        try main.write(to: directory.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let outputURL = directory.appendingPathComponent("nginx.out")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let process = try ChildProcess.spawn(
            executable,
            ["-p", directory.path + "/", "-c", directory.appendingPathComponent("nginx.conf").path,
             "-e", directory.appendingPathComponent("error.log").path],
            directory: directory.path, stdin: .null, stdout: .descriptor(output.fileDescriptor),
            stderr: .descriptor(output.fileDescriptor))
        let nginx = NginxProcess(process: process, directory: directory, port: port)
        do {
            try await withTimeout(30, "nginx to listen on \(port)") {
                while true {
                    guard process.isRunning else {
                        let said = (try? String(contentsOf: outputURL, encoding: .utf8)) ?? ""
                        throw NginxFailed(message: "nginx exited (\(process.termination.map { "\($0)" } ?? "?")):\n\(said)\n\(nginx.errorLog)")
                    }
                    if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: port).get()
                    {
                        try? await channel.close().get()
                        return
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        } catch {
            await nginx.stop()
            throw error
        }
        return nginx
    }

    /// SIGTERM (nginx's fast shutdown: the master stops its workers), SIGKILL after 30 s.
    func stop() async {
        process.terminate()
        do {
            _ = try await withTimeout(30, "nginx to exit") { await process.exit() }
        } catch {
            process.signal(SIGKILL)
            _ = await process.exit()
        }
    }
}

struct NginxFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
