// IUserProfileGrain uses [AlwaysInterleave] without importing its namespace; this keeps the assembly building.
global using Orleans.Concurrency;
