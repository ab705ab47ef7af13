// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.ComponentModel.DataAnnotations;
using System.Globalization;
using HealthKit.Sample.Data;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Distributed;

namespace HealthKit.Sample.Pages;

public sealed class NotesModel(SampleDbContext db, IDistributedCache cache, TimeProvider time) : PageModel
{
    private const string CountKey = "notes:count";
    private const int ShownNotes = 20;

    public static readonly TimeSpan CountLifetime = TimeSpan.FromSeconds(30);

    [BindProperty]
    [Required]
    [StringLength(Note.MaxTextLength)]
    [Display(Name = "Note")]
    public string? Text { get; set; }

    public IReadOnlyList<Note> Notes { get; private set; } = [];

    /// <summary>The number of notes and when it was counted, as the distributed cache holds it.</summary>
    public string CachedCount { get; private set; } = "";

    public bool CountFromCache { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken cancellationToken)
    {
        if (!ModelState.IsValid || string.IsNullOrWhiteSpace(Text))
        {
            await LoadAsync(cancellationToken);
            return Page();
        }

        db.Notes.Add(new Note { Text = Text.Trim(), CreatedAt = time.GetUtcNow() });
        await db.SaveChangesAsync(cancellationToken);
        return RedirectToPage();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        // Ordered by key: SQLite cannot sort DateTimeOffset values in SQL, and ids grow with time here anyway.
        Notes = await db.Notes.AsNoTracking().OrderByDescending(n => n.Id).Take(ShownNotes).ToListAsync(cancellationToken);

        var cached = await cache.GetStringAsync(CountKey, cancellationToken);
        CountFromCache = cached is not null;
        if (cached is null)
        {
            var count = await db.Notes.CountAsync(cancellationToken);
            cached = string.Create(CultureInfo.InvariantCulture, $"{count} note(s), counted at {time.GetUtcNow():HH:mm:ss} UTC");
            await cache.SetStringAsync(
                CountKey,
                cached,
                new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = CountLifetime },
                cancellationToken);
        }

        CachedCount = cached;
    }
}
