// Copyright (c) HealthKit contributors. Licensed under the MIT License.

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddRazorPages();
builder.Services.AddControllersWithViews();
builder.Services.AddDistributedMemoryCache();
builder.Services.AddSession();
builder.Services.AddHttpContextAccessor();
builder.Services.AddAuthentication("Cookies").AddCookie("Cookies");
builder.Services.AddAuthorization();

var app = builder.Build();

app.UseHsts();
app.UseHttpsRedirection();
app.UseRouting();
app.UseSession();
app.UseAuthentication();
app.UseAuthorization();

app.MapRazorPages();
app.MapControllerRoute("default", "mvc/{controller=Home}/{action=Index}");
app.MapGet("/api/ping", () => Results.Ok(new { pong = true }));

await app.RunAsync();

/// <summary>The site's entry point, visible to WebApplicationFactory.</summary>
public partial class Program;
