using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Cli.Tests;

/// <summary>
/// A grid that takes the connection and never answers (a hung silo behind a live port): the CLI's call fails with
/// DeadlineExceeded, which the import retries and the export reports, where without a deadline it waited forever.
/// </summary>
public sealed class GridConnectionTests
{
    [Fact]
    public async Task A_call_to_a_grid_that_never_answers_ends_with_DeadlineExceeded()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptTcpClientAsync()); // read nothing, answer nothing
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        });

        using (var connection = KeysCommand.Connect(new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}"), "pg_key", limit: TimeSpan.FromSeconds(1)))
        {
            var client = new ProfileGateway.ProfileGatewayClient(connection.Calls);
            var failed = await Assert.ThrowsAsync<RpcException>(() =>
                client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = "u-1" }).ResponseAsync.WaitAsync(TimeSpan.FromMinutes(1)));
            Assert.Equal(StatusCode.DeadlineExceeded, failed.StatusCode);
        }

        silent.Stop();
        await accepting;
        held.ForEach(c => c.Dispose());
    }
}
